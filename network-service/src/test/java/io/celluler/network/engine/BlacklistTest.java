package io.celluler.network.engine;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class BlacklistTest {

    final Blacklist blacklist = new Blacklist(new Blacklist.Policy(3, 10_000, 60_000, 100));

    @Test
    void aPeerThatKeepsSendingBadMessagesIsBannedForTheConfiguredTime() {
        assertThat(blacklist.recordReject("eve", 0)).isFalse();
        assertThat(blacklist.recordReject("eve", 1000)).isFalse();
        assertThat(blacklist.recordReject("eve", 2000)).isTrue();

        assertThat(blacklist.isBlacklisted("eve", 2000)).isTrue();
        assertThat(blacklist.isBlacklisted("eve", 61_999)).isTrue();
        assertThat(blacklist.isBlacklisted("eve", 62_000)).isFalse();
        assertThat(blacklist.isBlacklisted("bob", 2000)).isFalse();
    }

    @Test
    void rejectsSpreadBeyondTheWindowDoNotAddUp() {
        for (long t = 0; t < 100_000; t += 6_000) {
            assertThat(blacklist.recordReject("clumsy", t)).isFalse();
        }
        assertThat(blacklist.isBlacklisted("clumsy", 100_000)).isFalse();
    }

    @Test
    void trackingIsBounded() {
        Blacklist small = new Blacklist(new Blacklist.Policy(2, 10_000, 60_000, 2));
        small.recordReject("a", 0);
        small.recordReject("b", 1);
        small.recordReject("c", 2); // "a" is forgotten: it offended least recently

        assertThat(small.recordReject("a", 3)).isFalse();
        assertThat(small.recordReject("c", 4)).isTrue();
        small.ban("x", 5, 100);
        small.ban("y", 5, 200);
        assertThat(small.banned(5)).hasSize(2).containsKey("y");
    }

    @Test
    void anOperatorCanLiftABan() {
        blacklist.ban("eve", 0, 1_000_000);
        blacklist.unban("eve");

        assertThat(blacklist.isBlacklisted("eve", 1)).isFalse();
    }
}
