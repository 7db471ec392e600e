package io.celluler.consensus.node;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

class InboxTest {

    @Test
    void urgentInputsAreTakenBeforeQueuedOnes() {
        Inbox inbox = new Inbox(16);
        List<String> order = new ArrayList<>();
        inbox.offer(() -> order.add("submit-1"));
        inbox.offer(() -> order.add("submit-2"));
        inbox.offerUrgent(() -> order.add("vote"));

        assertThat(inbox.hasUrgent()).isTrue();
        for (Runnable r; (r = inbox.pollUrgent()) != null; ) {
            r.run();
        }
        for (Runnable r; (r = inbox.pollNormal()) != null; ) {
            r.run();
        }

        assertThat(order).containsExactly("vote", "submit-1", "submit-2");
        assertThat(inbox.isEmpty()).isTrue();
    }

    @Test
    void aFullLaneRefusesWithoutBlockingTheOther() {
        Inbox inbox = new Inbox(2);
        assertThat(inbox.offer(() -> { })).isTrue();
        assertThat(inbox.offer(() -> { })).isTrue();
        assertThat(inbox.offer(() -> { })).isFalse();
        assertThat(inbox.offerUrgent(() -> { })).isTrue();
    }

    @Test
    void anOfferWakesTheWaitingConsumer() throws Exception {
        Inbox inbox = new Inbox(4);
        inbox.consumer(Thread.currentThread());
        Thread producer = Thread.ofPlatform().start(() -> {
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                return;
            }
            inbox.offerUrgent(() -> { });
        });
        long start = System.nanoTime();
        // bounded: a lost wake-up would wait the full 30 s and the assertion below would fail
        while (inbox.isEmpty() && System.nanoTime() - start < TimeUnit.SECONDS.toNanos(30)) {
            inbox.awaitInput(TimeUnit.SECONDS.toNanos(30));
        }
        producer.join();
        assertThat(inbox.pollUrgent()).isNotNull();
        assertThat(System.nanoTime() - start).isLessThan(TimeUnit.SECONDS.toNanos(20));
    }

    @Test
    void waitingWithInputQueuedReturnsAtOnce() {
        Inbox inbox = new Inbox(4);
        inbox.consumer(Thread.currentThread());
        inbox.offer(() -> { });
        long start = System.nanoTime();
        inbox.awaitInput(TimeUnit.SECONDS.toNanos(30));
        assertThat(System.nanoTime() - start).isLessThan(TimeUnit.SECONDS.toNanos(20));
    }
}
