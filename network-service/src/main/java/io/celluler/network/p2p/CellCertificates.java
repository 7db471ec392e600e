package io.celluler.network.p2p;

import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;

import io.celluler.core.identity.CellIdentity;
import io.celluler.core.identity.Ed25519;
import org.bouncycastle.asn1.edec.EdECObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * TLS certificates bound to a cell's key, for the P2P links (issue 3 §2): no certificate authority — a cell
 * presents a self-signed certificate carrying its own Ed25519 public key, and a peer is authenticated by the
 * cell id that key derives to ({@link #cellIdOf}). Whoever completes the TLS 1.3 handshake with that
 * certificate holds the private key, so it is that cell.
 */
public final class CellCertificates {

    /** A certificate and the private key of its cell, as the JDK's TLS stack wants them. */
    public record TlsIdentity(PrivateKey privateKey, X509Certificate certificate, String cellId) {
    }

    private CellCertificates() {
    }

    /** A self-signed certificate for {@code identity}, valid from an hour ago for {@code validity}. */
    public static TlsIdentity selfSigned(CellIdentity identity, Instant now, Duration validity) {
        try {
            PrivateKey privateKey = identity.jcaPrivateKey();
            SubjectPublicKeyInfo publicKey = new SubjectPublicKeyInfo(
                    new AlgorithmIdentifier(EdECObjectIdentifiers.id_Ed25519), identity.publicKey());
            X500Name name = new X500Name("CN=" + identity.cellId());
            X509v3CertificateBuilder builder = new X509v3CertificateBuilder(name,
                    new BigInteger(64, new java.security.SecureRandom()).abs().add(BigInteger.ONE),
                    Date.from(now.minus(Duration.ofHours(1))), Date.from(now.plus(validity)), name, publicKey);
            X509Certificate cert = new JcaX509CertificateConverter()
                    .getCertificate(builder.build(new JcaContentSignerBuilder("Ed25519").build(privateKey)));
            return new TlsIdentity(privateKey, cert, identity.cellId());
        } catch (CertificateException | OperatorCreationException e) {
            throw new IllegalStateException("cannot make the cell's TLS certificate", e);
        }
    }

    /**
     * The cell id a peer's certificate stands for, after checking that it is a self-signed Ed25519 certificate
     * within its validity; a {@link CertificateException} otherwise.
     */
    public static String cellIdOf(X509Certificate cert, Instant now) throws CertificateException {
        byte[] raw = rawEd25519Key(cert.getPublicKey());
        try {
            cert.checkValidity(Date.from(now));
            cert.verify(cert.getPublicKey());
        } catch (GeneralSecurityException e) {
            throw new CertificateException("peer certificate is not a valid self-signed cell certificate: "
                    + e.getMessage(), e);
        }
        return CellIdentity.cellIdOf(raw);
    }

    /** The 32 raw bytes of an Ed25519 public key (the last 32 bytes of its X.509 encoding). */
    static byte[] rawEd25519Key(PublicKey key) throws CertificateException {
        if (!"Ed25519".equalsIgnoreCase(key.getAlgorithm()) && !"EdDSA".equalsIgnoreCase(key.getAlgorithm())) {
            throw new CertificateException("peer key is " + key.getAlgorithm() + ", not Ed25519");
        }
        byte[] der = key.getEncoded();
        if (der.length < Ed25519.KEY_BYTES) {
            throw new CertificateException("peer key is too short");
        }
        byte[] raw = new byte[Ed25519.KEY_BYTES];
        System.arraycopy(der, der.length - Ed25519.KEY_BYTES, raw, 0, Ed25519.KEY_BYTES);
        return raw;
    }
}
