package io.celluler.cas.replication;

import java.time.Duration;

import io.celluler.proto.cas.v1.PeerRequest;
import io.celluler.proto.cas.v1.PeerResponse;

/** cas-service's way to other cells' cas-services: {@code celluler/cas/v1/peer.proto} on the topic {@value #TOPIC}. */
public final class PeerNetwork extends io.celluler.core.peer.PeerNetwork<PeerRequest, PeerResponse> {

    public static final String TOPIC = "cas";
    static final String CAPABILITY = "cas-service";

    public PeerNetwork(String address, Duration callTimeout) {
        super(address, callTimeout, TOPIC, CAPABILITY, PeerRequest.parser(), PeerResponse.parser());
    }
}
