package io.celluler.network.p2p;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

class PriorityWriterTest {

    final List<String> written = new ArrayList<>();
    boolean ready;
    final PriorityWriter<String> writer = new PriorityWriter<>(new int[] {2, 2, 2}, () -> ready, written::add);

    @Test
    void whileTheStreamIsNotReadyFramesWaitAndThenLeaveMostUrgentFirst() {
        writer.offer("bulk-1", 2);
        writer.offer("control-1", 1);
        writer.offer("bulk-2", 2);
        writer.offer("link-1", 0);
        assertThat(written).isEmpty();
        assertThat(writer.queued()).isEqualTo(4);

        ready = true;
        writer.drain();
        assertThat(written).containsExactly("link-1", "control-1", "bulk-1", "bulk-2");
        writer.offer("now", 2);
        assertThat(written).endsWith("now");
    }

    @Test
    void aFullLaneRefusesWithoutTouchingTheOthers() {
        assertThat(writer.offer("b1", 2)).isTrue();
        assertThat(writer.offer("b2", 2)).isTrue();
        assertThat(writer.offer("b3", 2)).as("backpressure: the bulk lane is full").isFalse();
        assertThat(writer.offer("c1", 1)).isTrue();
        ready = true;
        writer.drain();
        assertThat(written).containsExactly("c1", "b1", "b2");
    }

    @Test
    void closingDropsTheQueueRunsTheLastWordOnceAndRefusesMore() {
        writer.offer("x", 0);
        List<String> last = new ArrayList<>();
        writer.close(() -> last.add("goodbye"));
        writer.close(() -> last.add("again"));
        ready = true;
        writer.drain();
        assertThat(last).containsExactly("goodbye");
        assertThat(written).isEmpty();
        assertThat(writer.offer("y", 0)).isFalse();
    }
}
