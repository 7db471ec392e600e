package io.celluler.cas.s3;

import org.springframework.boot.tomcat.TomcatConnectorCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** Tomcat settings the S3 API needs. */
@Configuration(proxyBeanMethods = false)
public class S3ServerConfiguration {

    /**
     * Answer {@code Expect: 100-continue} only when the body is read: an upload refused from its headers
     * (EntityTooLarge, a bad signature, a missing bucket) then gets its error before the client sends the body,
     * as S3 clients expect (the AWS SDKs and the aws CLI send the header with every PutObject). Tomcat's default
     * ("immediately") invites the body first, and the client meets a closed connection instead of the error.
     */
    @Bean
    TomcatConnectorCustomizer continueOnRead() {
        return connector -> connector.setProperty("continueResponseTiming", "onRead");
    }
}
