package io.celluler.consensus.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class GossipPacerTest {

    static final long MS = 1_000_000;

    @Test
    void theIntervalFollowsTheRoundTimeWithinItsBounds() {
        GossipPacer p = new GossipPacer(10 * MS, 100 * MS, 2);
        assertThat(p.intervalNanos()).as("before any round").isEqualTo(100 * MS);

        long t = 1_000 * MS;
        long round = 1;
        p.observeRound(round, t);
        for (int i = 0; i < 100; i++) { // fast rounds: 12 ms each
            t += 12 * MS;
            p.observeRound(++round, t);
        }
        assertThat(p.intervalNanos()).isBetween(23 * MS, 25 * MS);

        for (int i = 0; i < 100; i++) { // slow rounds: 80 ms each, two at a time
            t += 160 * MS;
            round += 2;
            p.observeRound(round, t);
        }
        assertThat(p.intervalNanos()).as("capped").isEqualTo(100 * MS);

        for (int i = 0; i < 200; i++) { // very fast rounds
            t += 2 * MS;
            p.observeRound(++round, t);
        }
        assertThat(p.intervalNanos()).as("floored").isEqualTo(10 * MS);
    }

    @Test
    void aQuietSpellDoesNotDelayTheNextBatchAndAFullBatchGoesAtOnce() {
        GossipPacer p = new GossipPacer(10 * MS, 100 * MS, 2);
        long t = 5_000 * MS;
        assertThat(p.due(t, false)).as("nothing sent yet").isTrue();
        p.sent(t);
        assertThat(p.due(t + 50 * MS, false)).isFalse();
        assertThat(p.due(t + 50 * MS, true)).as("a full batch").isTrue();
        assertThat(p.due(t + 100 * MS, false)).isTrue();
    }

    @Test
    void roundsObservedWithoutProgressOrAfterARestartDoNotSkewTheMean() {
        GossipPacer p = new GossipPacer(10 * MS, 100 * MS, 2);
        p.observeRound(5, 1);
        p.observeRound(6, 20 * MS + 1);
        long before = p.intervalNanos();
        p.observeRound(6, 25 * MS); // same round seen again
        p.observeRound(3, 30 * MS); // a lower round (engine rebuilt): starts over, no sample
        assertThat(p.intervalNanos()).isEqualTo(before).isEqualTo(40 * MS);
    }

    @Test
    void badBoundsAreRefusedNamingTheSettings() {
        assertThatThrownBy(() -> new GossipPacer(100 * MS, 10 * MS, 2)).hasMessageContaining("gossip-interval-min");
        assertThatThrownBy(() -> new GossipPacer(10 * MS, 100 * MS, 0)).hasMessageContaining("gossip-rounds");
    }
}
