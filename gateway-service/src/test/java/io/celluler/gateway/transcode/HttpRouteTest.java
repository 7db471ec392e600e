package io.celluler.gateway.transcode;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;

import com.google.protobuf.Descriptors.MethodDescriptor;
import io.celluler.proto.cas.v1.CasServiceGrpc;
import io.celluler.proto.cas.v1.CasProto;
import org.junit.jupiter.api.Test;

/** Path templates of google.api.http as the transcoder reads them, on the real cas contract. */
class HttpRouteTest {

    private static MethodDescriptor cas(String name) {
        return CasProto.getDescriptor().findServiceByName("CasService").findMethodByName(name);
    }

    private static HttpRoute route(String name) {
        return HttpRoute.of(cas(name), "cas-service");
    }

    @Test
    void readsMethodTemplateBodyAndResponseBody() {
        HttpRoute put = route("Put");
        HttpRoute get = route("Get");

        assertThat(put.httpMethod()).isEqualTo("PUT");
        assertThat(put.template()).isEqualTo("/v1/objects");
        assertThat(put.rawBodyField().getName()).isEqualTo("data");
        assertThat(get.rawResponseField().getName()).isEqualTo("data");
        assertThat(get.pathFields()).containsExactly("root");
        assertThat(CasServiceGrpc.getServiceDescriptor().getName()).isEqualTo("celluler.cas.v1.CasService");
    }

    @Test
    void variablesMatchOneSegmentAndArePercentDecoded() {
        assertThat(route("Get").match("/v1/objects/abc")).isEqualTo(Map.of("root", "abc"));
        assertThat(route("Get").match("/v1/objects/a%2Fb")).isEqualTo(Map.of("root", "a/b"));
        // path decoding, not form decoding: '+' stays '+'
        assertThat(route("Get").match("/v1/objects/a+b")).isEqualTo(Map.of("root", "a+b"));
        assertThat(route("Get").match("/v1/objects/a/b")).isNull();
        assertThat(route("Get").match("/v1/objects/")).isNull();
        assertThat(route("Get").match("/v1/object/abc")).isNull();
    }

    @Test
    void customVerbMustMatchExactly() {
        HttpRoute stat = route("Stat");

        assertThat(stat.match("/v1/objects/abc:stat")).isEqualTo(Map.of("root", "abc"));
        assertThat(stat.match("/v1/objects/abc")).isNull();
        assertThat(stat.match("/v1/objects/abc:stats")).isNull();
        // and a template without a verb does not swallow one
        assertThat(route("Get").match("/v1/objects/abc:stat")).isNull();
    }

    @Test
    void scalarsFromTextNameTheFieldWhenTheyDoNotParse() throws Exception {
        var pageSize = cas("List").getInputType().findFieldByName("page_size");

        assertThat(RestTranscoder.scalar(pageSize, "25")).isEqualTo(25);
        assertThatThrownBy(() -> RestTranscoder.scalar(pageSize, null))
                .isInstanceOf(RestTranscoder.BadInput.class).hasMessageContaining("'page_size' needs a value");
        assertThatThrownBy(() -> RestTranscoder.scalar(pageSize, "many"))
                .isInstanceOf(RestTranscoder.BadInput.class)
                .hasMessageContaining("invalid value 'many' for page_size (int32)");
    }
}
