package io.celluler.network.p2p;

import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Clock;

import java.net.Socket;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Trusts a peer's certificate exactly when it is a valid self-signed cell certificate (no CA), and — when the
 * dialler knows whom it dials — when the key derives to the expected cell id. Both sides of a link use it
 * (mutual TLS); the authenticated peer id is then {@link CellCertificates#cellIdOf} of the session's peer
 * certificate.
 *
 * <p>An {@link X509ExtendedTrustManager}, so that the JDK does not add its host name check: a cell's
 * certificate names no host — the identity is the key.
 */
public final class CellTrustManager extends X509ExtendedTrustManager {

    private final String expectedCellId;
    private final Clock clock;
    private volatile String verifiedCellId;
    private volatile String rejection;

    /** {@code expectedCellId}: the cell being dialled, or null to accept any cell (a listener, a seed by address). */
    public CellTrustManager(String expectedCellId, Clock clock) {
        this.expectedCellId = expectedCellId;
        this.clock = clock;
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        check(chain);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        check(chain);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        check(chain);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        check(chain);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        check(chain);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        check(chain);
    }

    private void check(X509Certificate[] chain) throws CertificateException {
        if (chain == null || chain.length != 1) {
            throw new CertificateException("a cell presents exactly one self-signed certificate");
        }
        String id = CellCertificates.cellIdOf(chain[0], clock.instant());
        if (expectedCellId != null && !expectedCellId.equals(id)) {
            rejection = "peer is cell " + id + ", not the expected " + expectedCellId;
            throw new CertificateException(rejection);
        }
        verifiedCellId = id;
    }

    /** Why the last certificate was refused for being another cell than expected, or null. */
    public String rejection() {
        return rejection;
    }

    /** The cell id the last accepted certificate proved (a dialler's one handshake), or null. */
    public String verifiedCellId() {
        return verifiedCellId;
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return new X509Certificate[0];
    }
}
