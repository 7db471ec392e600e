package io.celluler.proto;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.api.AnnotationsProto;
import com.google.api.HttpRule;
import com.google.protobuf.DescriptorProtos.DescriptorProto;
import com.google.protobuf.DescriptorProtos.EnumDescriptorProto;
import com.google.protobuf.DescriptorProtos.EnumValueDescriptorProto;
import com.google.protobuf.DescriptorProtos.FieldDescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorSet;
import com.google.protobuf.DescriptorProtos.FileOptions;
import com.google.protobuf.DescriptorProtos.MethodDescriptorProto;
import com.google.protobuf.DescriptorProtos.MethodOptions;
import com.google.protobuf.DescriptorProtos.ServiceDescriptorProto;
import com.google.protobuf.DescriptorProtos.SourceCodeInfo;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.DescriptorValidationException;
import com.google.protobuf.Descriptors.EnumDescriptor;
import com.google.protobuf.Descriptors.EnumValueDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Descriptors.FileDescriptor;
import com.google.protobuf.Descriptors.MethodDescriptor;
import com.google.protobuf.Descriptors.ServiceDescriptor;
import com.google.protobuf.ExtensionRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The buf-style rules of DESIGN §5, checked on the descriptor set that the build writes (the same one
 * the gateway's REST transcoder and OpenAPI generator read). Every violation is listed in the failure
 * message, not only the first.
 */
class ContractLintTest {

  static final String DESCRIPTOR_SET = "META-INF/celluler/descriptors.pb";

  static final List<String> EXPECTED_SERVICES = List.of(
      "celluler.network.v1.NetworkService",
      "celluler.p2p.v1.P2PService",
      "celluler.consensus.v1.ConsensusService",
      "celluler.data.v1.FeedService",
      "celluler.state.v1.StateService",
      "celluler.state.v1.DocumentService",
      "celluler.catalog.v1.CatalogService",
      "celluler.cas.v1.CasService",
      "celluler.model.v1.ModelService",
      "celluler.metrics.v1.MetricsService");

  /**
   * Violations accepted for now, each with the reason. Keep this list short and empty it: an entry
   * here is a contract bug someone owns (an entry that no longer occurs is simply ignored; delete it).
   */
  static final Map<String, String> KNOWN_VIOLATIONS = Map.of();

  static final Pattern LOWER_SNAKE = Pattern.compile("[a-z][a-z0-9]*(_[a-z0-9]+)*");
  static final Pattern PACKAGE = Pattern.compile("celluler\\.([a-z][a-z0-9]*)\\.(v[0-9]+)");
  static final Pattern OUTER_CLASSNAME = Pattern.compile("[A-Z][A-Za-z0-9]*Proto");
  static final Pattern LITERAL_SEGMENT = Pattern.compile("[A-Za-z0-9._~-]+");
  static final Pattern VARIABLE_SEGMENT = Pattern.compile("\\{([a-z][a-z0-9_]*)}");
  static final Pattern CUSTOM_VERB = Pattern.compile("[A-Za-z][A-Za-z0-9_-]*");

  static final Set<FieldDescriptor.Type> PATH_VARIABLE_TYPES = Set.of(
      FieldDescriptor.Type.STRING,
      FieldDescriptor.Type.INT32, FieldDescriptor.Type.INT64,
      FieldDescriptor.Type.UINT32, FieldDescriptor.Type.UINT64,
      FieldDescriptor.Type.SINT32, FieldDescriptor.Type.SINT64,
      FieldDescriptor.Type.FIXED32, FieldDescriptor.Type.FIXED64,
      FieldDescriptor.Type.SFIXED32, FieldDescriptor.Type.SFIXED64);

  static List<FileDescriptor> files;

  @BeforeAll
  static void loadDescriptorSet() throws Exception {
    files = load(DESCRIPTOR_SET);
  }

  @Test
  void descriptorSetHoldsTheCellulerContracts() {
    assertThat(cellulerFiles(files))
        .as("files of package celluler.* in %s", DESCRIPTOR_SET)
        .extracting(FileDescriptor::getName)
        .contains("celluler/common/v1/common.proto", "celluler/cas/v1/cas.proto");
    assertThat(cellulerFiles(files))
        .as("the descriptor set must carry source info (comments), see outputDescriptorIncludeSourceInfo")
        .allMatch(f -> f.toProto().getSourceCodeInfo().getLocationCount() > 0);
  }

  @Test
  void everyExpectedServiceExists() {
    Set<String> services = new TreeSet<>();
    for (FileDescriptor file : files) {
      for (ServiceDescriptor service : file.getServices()) {
        services.add(service.getFullName());
      }
    }
    List<String> missing = EXPECTED_SERVICES.stream().filter(s -> !services.contains(s)).toList();
    assertThat(missing)
        .withFailMessage("missing services: %s%nservices present: %s", missing, services)
        .isEmpty();
  }

  @Test
  void contractsFollowTheRules() {
    List<String> violations = lint(files);
    List<String> unexpected = violations.stream().filter(v -> !KNOWN_VIOLATIONS.containsKey(v)).toList();
    assertThat(unexpected)
        .withFailMessage("%d contract violation(s):%n  %s", unexpected.size(), String.join("\n  ", unexpected))
        .isEmpty();
  }

  /** The lint itself must catch what it claims to: a file that breaks each rule once. */
  @Test
  void lintReportsEachKindOfViolation() throws DescriptorValidationException {
    FileDescriptor bad = buildBadFile();
    List<String> violations = lint(List.of(bad));
    assertThat(violations).anyMatch(v -> v.contains("java_package"));
    assertThat(violations).anyMatch(v -> v.contains("java_multiple_files"));
    assertThat(violations).anyMatch(v -> v.contains("package celluler.bad.v1 does not match"));
    assertThat(violations).anyMatch(v -> v.contains("field celluler.bad.v1.GetThingRequest.thingId"));
    assertThat(violations).anyMatch(v -> v.contains("zero value of enum celluler.bad.v1.Color"));
    assertThat(violations).anyMatch(v -> v.contains("value RED of enum celluler.bad.v1.Color"));
    assertThat(violations).anyMatch(v -> v.contains("Other: input type celluler.bad.v1.GetThingRequest"));
    assertThat(violations).anyMatch(v -> v.contains("used by more than one RPC"));
    assertThat(violations).anyMatch(v -> v.contains("{missing}"));
    assertThat(violations).anyMatch(v -> v.contains("GET must not have a body"));
    assertThat(violations).anyMatch(v -> v.contains("field filter is a message (or map) but GET has no body"));
    assertThat(violations).anyMatch(v -> v.contains("same request path"));
    assertThat(violations).anyMatch(v -> v.contains("bidirectional stream"));
    assertThat(violations).anyMatch(v -> v.contains("additional_bindings"));
    assertThat(violations).anyMatch(v -> v.contains("response_body \"nope\""));
    assertThat(violations).anyMatch(v -> v.contains("rpc celluler.bad.v1.BadService.GetThing has no leading comment"));
    assertThat(violations).anyMatch(v -> v.contains("service celluler.bad.v1.BadService has no leading comment"));

    FileDescriptor p2p = buildAnnotatedP2pFile();
    assertThat(lint(List.of(p2p))).anyMatch(v -> v.contains("celluler.p2p files must not have google.api.http"));
  }

  // ---------------------------------------------------------------------------------------------
  // The lint
  // ---------------------------------------------------------------------------------------------

  static List<String> lint(List<FileDescriptor> all) {
    List<String> violations = new ArrayList<>();
    Map<String, List<String>> usesOfMessage = new LinkedHashMap<>();
    Map<String, String> outerClassnames = new HashMap<>();
    List<Route> routes = new ArrayList<>();

    for (FileDescriptor file : cellulerFiles(all)) {
      String where = file.getName() + ": ";
      lintFileOptions(file, where, outerClassnames, violations);
      for (Descriptor message : file.getMessageTypes()) {
        lintMessage(message, where, violations);
      }
      for (EnumDescriptor e : file.getEnumTypes()) {
        lintEnum(e, where, violations);
      }
      Comments comments = new Comments(file.toProto().getSourceCodeInfo());
      for (ServiceDescriptor service : file.getServices()) {
        if (!comments.hasLeading(List.of(FileDescriptorProto.SERVICE_FIELD_NUMBER, service.getIndex()))) {
          violations.add(where + "service " + service.getFullName() + " has no leading comment");
        }
        for (MethodDescriptor method : service.getMethods()) {
          String rpc = service.getFullName() + "." + method.getName();
          if (!comments.hasLeading(List.of(FileDescriptorProto.SERVICE_FIELD_NUMBER, service.getIndex(),
              ServiceDescriptorProto.METHOD_FIELD_NUMBER, method.getIndex()))) {
            violations.add(where + "rpc " + rpc + " has no leading comment");
          }
          lintMethodTypes(file, method, rpc, where, usesOfMessage, violations);
          lintHttpRule(file, method, rpc, where, routes, violations);
        }
      }
    }

    usesOfMessage.forEach((message, uses) -> {
      if (uses.size() > 1) {
        violations.add("message " + message + " is used by more than one RPC: " + String.join(", ", uses));
      }
    });

    for (int i = 0; i < routes.size(); i++) {
      for (int j = i + 1; j < routes.size(); j++) {
        Route a = routes.get(i);
        Route b = routes.get(j);
        if (a.overlaps(b)) {
          violations.add((a.sameTemplate(b) ? "duplicate route " : "ambiguous routes ")
              + a.describe() + " and " + b.describe() + " can match the same request path");
        }
      }
    }
    return violations;
  }

  static void lintFileOptions(FileDescriptor file, String where, Map<String, String> outerClassnames,
      List<String> violations) {
    String pkg = file.getPackage();
    var m = PACKAGE.matcher(pkg);
    if (!m.matches()) {
      violations.add(where + "package " + pkg + " is not celluler.<area>.v<N>");
    }
    String dir = file.getName().contains("/") ? file.getName().substring(0, file.getName().lastIndexOf('/')) : "";
    if (!dir.equals(pkg.replace('.', '/'))) {
      violations.add(where + "package " + pkg + " does not match the directory " + dir);
    }
    FileOptions options = file.getOptions();
    String expectedJavaPackage = "io.celluler.proto." + pkg.substring("celluler.".length());
    if (!options.getJavaPackage().equals(expectedJavaPackage)) {
      violations.add(where + "java_package is '" + options.getJavaPackage() + "', expected '"
          + expectedJavaPackage + "'");
    }
    if (!options.getJavaMultipleFiles()) {
      violations.add(where + "java_multiple_files must be true");
    }
    String outer = options.getJavaOuterClassname();
    if (!OUTER_CLASSNAME.matcher(outer).matches()) {
      violations.add(where + "java_outer_classname '" + outer + "' must be set, UpperCamelCase, ending in Proto");
    } else {
      String other = outerClassnames.putIfAbsent(options.getJavaPackage() + "." + outer, file.getName());
      if (other != null) {
        violations.add(where + "java_outer_classname " + outer + " is also used by " + other);
      }
    }
  }

  static void lintMessage(Descriptor message, String where, List<String> violations) {
    for (FieldDescriptor field : message.getFields()) {
      if (!LOWER_SNAKE.matcher(field.getName()).matches()) {
        violations.add(where + "field " + field.getFullName() + " is not lower_snake_case");
      }
    }
    for (Descriptor nested : message.getNestedTypes()) {
      lintMessage(nested, where, violations);
    }
    for (EnumDescriptor e : message.getEnumTypes()) {
      lintEnum(e, where, violations);
    }
  }

  static void lintEnum(EnumDescriptor e, String where, List<String> violations) {
    String prefix = upperSnake(e.getName()) + "_";
    EnumValueDescriptor zero = e.findValueByNumber(0);
    if (zero == null || !zero.getName().equals(prefix + "UNSPECIFIED")) {
      violations.add(where + "zero value of enum " + e.getFullName() + " must be " + prefix + "UNSPECIFIED"
          + (zero == null ? "" : ", found " + zero.getName()));
    }
    for (EnumValueDescriptor value : e.getValues()) {
      if (!value.getName().startsWith(prefix) || value.getName().length() == prefix.length()) {
        violations.add(where + "value " + value.getName() + " of enum " + e.getFullName()
            + " must start with " + prefix);
      }
    }
  }

  static void lintMethodTypes(FileDescriptor file, MethodDescriptor method, String rpc, String where,
      Map<String, List<String>> usesOfMessage, List<String> violations) {
    String pkg = file.getPackage();
    String expectedInput = pkg + "." + method.getName() + "Request";
    String expectedOutput = pkg + "." + method.getName() + "Response";
    if (!method.getInputType().getFullName().equals(expectedInput)) {
      violations.add(where + rpc + ": input type " + method.getInputType().getFullName()
          + " must be " + expectedInput);
    }
    if (!method.getOutputType().getFullName().equals(expectedOutput)) {
      violations.add(where + rpc + ": output type " + method.getOutputType().getFullName()
          + " must be " + expectedOutput);
    }
    usesOfMessage.computeIfAbsent(method.getInputType().getFullName(), k -> new ArrayList<>())
        .add(rpc + " (request)");
    usesOfMessage.computeIfAbsent(method.getOutputType().getFullName(), k -> new ArrayList<>())
        .add(rpc + " (response)");
  }

  static void lintHttpRule(FileDescriptor file, MethodDescriptor method, String rpc, String where,
      List<Route> routes, List<String> violations) {
    // The proto as parsed with the extension registry: the option is a real HttpRule, not unknown fields.
    MethodOptions options = method.toProto().getOptions();
    if (!options.hasExtension(AnnotationsProto.http)) {
      return;
    }
    HttpRule rule = options.getExtension(AnnotationsProto.http);
    String at = where + rpc + ": ";
    if (file.getPackage().startsWith("celluler.p2p.")) {
      violations.add(at + "celluler.p2p files must not have google.api.http annotations (internal wire)");
    }
    if (rule.getAdditionalBindingsCount() > 0) {
      violations.add(at + "additional_bindings are not supported by the gateway");
    }
    String responseBody = rule.getResponseBody();
    if (!responseBody.isEmpty() && method.getOutputType().findFieldByName(responseBody) == null) {
      violations.add(at + "response_body \"" + responseBody + "\" is not a top-level field of "
          + method.getOutputType().getFullName());
    }

    String verb;
    String template;
    switch (rule.getPatternCase()) {
      case GET -> { verb = "GET"; template = rule.getGet(); }
      case PUT -> { verb = "PUT"; template = rule.getPut(); }
      case POST -> { verb = "POST"; template = rule.getPost(); }
      case DELETE -> { verb = "DELETE"; template = rule.getDelete(); }
      case PATCH -> { verb = "PATCH"; template = rule.getPatch(); }
      default -> {
        violations.add(at + "only get/put/post/delete/patch patterns are supported, found "
            + rule.getPatternCase());
        return;
      }
    }

    Descriptor input = method.getInputType();
    String body = rule.getBody();
    if ((verb.equals("GET") || verb.equals("DELETE")) && !body.isEmpty()) {
      violations.add(at + verb + " must not have a body (found body: \"" + body + "\")");
    }
    if (!body.isEmpty() && !body.equals("*") && input.findFieldByName(body) == null) {
      violations.add(at + "body \"" + body + "\" is not a top-level field of " + input.getFullName());
    }
    if (body.isEmpty() && !method.isClientStreaming()) {
      // Without a body, every field must be reachable from the path or the query string, which carry
      // scalars only (the gateway rejects message-typed query parameters; maps are messages too).
      for (FieldDescriptor field : input.getFields()) {
        if (field.getJavaType() == FieldDescriptor.JavaType.MESSAGE) {
          violations.add(at + "field " + field.getName() + " is a message (or map) but " + verb + " "
              + "has no body: it cannot be sent over REST (use scalars, or a body)");
        }
      }
    }

    if (method.isClientStreaming()) {
      if (method.isServerStreaming()) {
        violations.add(at + "a bidirectional stream cannot have an http annotation");
      } else {
        FieldDescriptor bodyField = body.isEmpty() || body.equals("*") ? null : input.findFieldByName(body);
        if (bodyField == null || bodyField.isRepeated() || bodyField.getType() != FieldDescriptor.Type.BYTES) {
          violations.add(at + "a client stream may only be annotated with body naming one bytes field");
        }
      }
    }

    Route route = parseTemplate(verb, template, rpc, at, violations);
    if (route == null) {
      return;
    }
    Set<String> seen = new HashSet<>();
    for (String variable : route.variables()) {
      if (!seen.add(variable)) {
        violations.add(at + "path variable {" + variable + "} appears twice in " + template);
      }
      FieldDescriptor field = input.findFieldByName(variable);
      if (field == null) {
        violations.add(at + "path variable {" + variable + "} is not a top-level field of " + input.getFullName());
      } else if (field.isRepeated() || !PATH_VARIABLE_TYPES.contains(field.getType())) {
        violations.add(at + "path variable {" + variable + "} must be a singular string or integer field, is "
            + (field.isRepeated() ? "repeated " : "") + field.getType());
      }
      if (variable.equals(body)) {
        violations.add(at + "body field \"" + body + "\" is also a path variable");
      }
    }
    routes.add(route);
  }

  /** Parses {@code /v1/lit/{var}/lit:verb}; reports anything outside the gateway's subset. */
  static Route parseTemplate(String httpVerb, String template, String rpc, String at, List<String> violations) {
    if (!template.startsWith("/v1/")) {
      violations.add(at + "path " + template + " must start with /v1/");
      return null;
    }
    String path = template;
    String customVerb = "";
    int lastSlash = path.lastIndexOf('/');
    String last = path.substring(lastSlash + 1);
    int colon = last.indexOf(':', last.lastIndexOf('}') + 1);
    if (colon >= 0) {
      customVerb = last.substring(colon + 1);
      path = path.substring(0, lastSlash + 1 + colon);
      if (!CUSTOM_VERB.matcher(customVerb).matches()) {
        violations.add(at + "custom verb ':" + customVerb + "' in " + template + " is not a plain word");
        return null;
      }
    }
    List<String> segments = new ArrayList<>();
    List<String> variables = new ArrayList<>();
    for (String segment : path.substring(1).split("/", -1)) {
      var variable = VARIABLE_SEGMENT.matcher(segment);
      if (variable.matches()) {
        variables.add(variable.group(1));
        segments.add("{}");
      } else if (LITERAL_SEGMENT.matcher(segment).matches()) {
        segments.add(segment);
      } else {
        violations.add(at + "segment '" + segment + "' of " + template
            + " is outside the supported subset (literal or {top_level_field}; no {a.b}, {x=**}, *, **)");
        return null;
      }
    }
    return new Route(httpVerb, segments, customVerb, variables, template, rpc);
  }

  record Route(String httpVerb, List<String> segments, String customVerb, List<String> variables,
      String template, String rpc) {

    boolean sameTemplate(Route other) {
      return httpVerb.equals(other.httpVerb) && segments.equals(other.segments)
          && customVerb.equals(other.customVerb);
    }

    /** True when some concrete request path could match both templates. */
    boolean overlaps(Route other) {
      if (!httpVerb.equals(other.httpVerb) || segments.size() != other.segments.size()
          || !customVerb.equals(other.customVerb)) {
        return false;
      }
      for (int i = 0; i < segments.size(); i++) {
        String a = segments.get(i);
        String b = other.segments.get(i);
        if (!a.equals(b) && !a.equals("{}") && !b.equals("{}")) {
          return false;
        }
      }
      return true;
    }

    String describe() {
      return rpc + " (" + httpVerb + " " + template + ")";
    }
  }

  /** Leading comments by source path. */
  record Comments(Map<List<Integer>, String> leading) {
    Comments(SourceCodeInfo info) {
      this(leadingComments(info));
    }

    static Map<List<Integer>, String> leadingComments(SourceCodeInfo info) {
      Map<List<Integer>, String> map = new HashMap<>();
      for (SourceCodeInfo.Location location : info.getLocationList()) {
        if (location.hasLeadingComments()) {
          map.put(List.copyOf(location.getPathList()), location.getLeadingComments());
        }
      }
      return map;
    }

    boolean hasLeading(List<Integer> path) {
      String comment = leading.get(path);
      return comment != null && !comment.isBlank();
    }
  }

  /** {@code ProofScheme} -> {@code PROOF_SCHEME}, {@code HTTPMethod} -> {@code HTTP_METHOD}. */
  static String upperSnake(String camel) {
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < camel.length(); i++) {
      char c = camel.charAt(i);
      if (i > 0 && Character.isUpperCase(c)) {
        char previous = camel.charAt(i - 1);
        boolean nextIsLower = i + 1 < camel.length() && Character.isLowerCase(camel.charAt(i + 1));
        if (Character.isLowerCase(previous) || Character.isDigit(previous)
            || (Character.isUpperCase(previous) && nextIsLower)) {
          out.append('_');
        }
      }
      out.append(Character.toUpperCase(c));
    }
    return out.toString();
  }

  // ---------------------------------------------------------------------------------------------
  // Loading
  // ---------------------------------------------------------------------------------------------

  static List<FileDescriptor> cellulerFiles(List<FileDescriptor> all) {
    return all.stream().filter(f -> f.getPackage().startsWith("celluler.")).toList();
  }

  static ExtensionRegistry registry() {
    ExtensionRegistry registry = ExtensionRegistry.newInstance();
    registry.add(AnnotationsProto.http);
    return registry;
  }

  static List<FileDescriptor> load(String resource) throws IOException, DescriptorValidationException {
    FileDescriptorSet set;
    try (InputStream in = ContractLintTest.class.getClassLoader().getResourceAsStream(resource)) {
      assertThat(in).as("classpath resource %s (written by the protobuf plugin)", resource).isNotNull();
      set = FileDescriptorSet.parseFrom(in, registry());
    }
    Map<String, FileDescriptorProto> byName = new LinkedHashMap<>();
    for (FileDescriptorProto proto : set.getFileList()) {
      byName.put(proto.getName(), proto);
    }
    Map<String, FileDescriptor> built = new LinkedHashMap<>();
    for (String name : byName.keySet()) {
      build(name, byName, built, new HashSet<>());
    }
    return List.copyOf(built.values());
  }

  static FileDescriptor build(String name, Map<String, FileDescriptorProto> byName,
      Map<String, FileDescriptor> built, Set<String> inProgress) throws DescriptorValidationException {
    FileDescriptor done = built.get(name);
    if (done != null) {
      return done;
    }
    FileDescriptorProto proto = byName.get(name);
    if (proto == null) {
      throw new IllegalStateException("descriptor set lacks " + name + " (build it with imports included)");
    }
    if (!inProgress.add(name)) {
      throw new IllegalStateException("import cycle through " + name);
    }
    List<FileDescriptor> dependencies = new ArrayList<>();
    for (String dependency : proto.getDependencyList()) {
      dependencies.add(build(dependency, byName, built, inProgress));
    }
    FileDescriptor file = FileDescriptor.buildFrom(proto, dependencies.toArray(FileDescriptor[]::new));
    built.put(name, file);
    return file;
  }

  // ---------------------------------------------------------------------------------------------
  // Files that break the rules, for the lint's own test
  // ---------------------------------------------------------------------------------------------

  static DescriptorProto message(String name, FieldDescriptorProto... fields) {
    DescriptorProto.Builder builder = DescriptorProto.newBuilder().setName(name);
    for (FieldDescriptorProto field : fields) {
      builder.addField(field);
    }
    return builder.build();
  }

  static FieldDescriptorProto field(String name, int number, FieldDescriptorProto.Type type) {
    return FieldDescriptorProto.newBuilder().setName(name).setNumber(number).setType(type)
        .setLabel(FieldDescriptorProto.Label.LABEL_OPTIONAL).build();
  }

  static MethodDescriptorProto rpc(String name, String input, String output, HttpRule http) {
    MethodDescriptorProto.Builder builder = MethodDescriptorProto.newBuilder().setName(name)
        .setInputType(input).setOutputType(output);
    if (http != null) {
      builder.setOptions(MethodOptions.newBuilder().setExtension(AnnotationsProto.http, http));
    }
    return builder.build();
  }

  static FileDescriptor buildBadFile() throws DescriptorValidationException {
    FieldDescriptorProto.Type string = FieldDescriptorProto.Type.TYPE_STRING;
    FileDescriptorProto proto = FileDescriptorProto.newBuilder()
        .setName("celluler/wrong/v1/bad.proto")
        .setPackage("celluler.bad.v1")
        .setSyntax("proto3")
        .addDependency("google/api/annotations.proto")
        .setOptions(FileOptions.newBuilder().setJavaPackage("io.celluler.bad").setJavaOuterClassname("BadProto"))
        .addMessageType(message("GetThingRequest", field("thingId", 1, string),
            field("filter", 2, FieldDescriptorProto.Type.TYPE_MESSAGE).toBuilder()
                .setTypeName(".celluler.bad.v1.OtherResponse").build()))
        .addMessageType(message("GetThingResponse"))
        .addMessageType(message("OtherResponse"))
        .addMessageType(message("StreamRequest"))
        .addMessageType(message("StreamResponse"))
        .addEnumType(EnumDescriptorProto.newBuilder().setName("Color")
            .addValue(EnumValueDescriptorProto.newBuilder().setName("COLOR_NONE").setNumber(0))
            .addValue(EnumValueDescriptorProto.newBuilder().setName("RED").setNumber(1)))
        .addService(ServiceDescriptorProto.newBuilder().setName("BadService")
            .addMethod(rpc("GetThing", ".celluler.bad.v1.GetThingRequest", ".celluler.bad.v1.GetThingResponse",
                HttpRule.newBuilder().setGet("/v1/things/{missing}").setBody("*")
                    .addAdditionalBindings(HttpRule.newBuilder().setGet("/v1/x")).build()))
            .addMethod(rpc("Other", ".celluler.bad.v1.GetThingRequest", ".celluler.bad.v1.OtherResponse",
                HttpRule.newBuilder().setGet("/v1/things/{thing_id}").setResponseBody("nope").build()))
            .addMethod(rpc("Stream", ".celluler.bad.v1.StreamRequest", ".celluler.bad.v1.StreamResponse",
                HttpRule.newBuilder().setPost("/v1/stream").setBody("*").build()).toBuilder()
                .setClientStreaming(true).setServerStreaming(true).build()))
        .build();
    return FileDescriptor.buildFrom(proto, new FileDescriptor[] {AnnotationsProto.getDescriptor()});
  }

  static FileDescriptor buildAnnotatedP2pFile() throws DescriptorValidationException {
    FileDescriptorProto proto = FileDescriptorProto.newBuilder()
        .setName("celluler/p2p/v1/bad.proto")
        .setPackage("celluler.p2p.v1")
        .setSyntax("proto3")
        .addDependency("google/api/annotations.proto")
        .setOptions(FileOptions.newBuilder().setJavaPackage("io.celluler.proto.p2p.v1")
            .setJavaMultipleFiles(true).setJavaOuterClassname("BadP2pProto"))
        .addMessageType(message("PokeRequest"))
        .addMessageType(message("PokeResponse"))
        .addService(ServiceDescriptorProto.newBuilder().setName("PokeService")
            .addMethod(rpc("Poke", ".celluler.p2p.v1.PokeRequest", ".celluler.p2p.v1.PokeResponse",
                HttpRule.newBuilder().setPost("/v1/poke").setBody("*").build())))
        .build();
    return FileDescriptor.buildFrom(proto, new FileDescriptor[] {AnnotationsProto.getDescriptor()});
  }

  @Test
  void upperSnakeMatchesBuf() {
    assertThat(upperSnake("ProofScheme")).isEqualTo("PROOF_SCHEME");
    assertThat(upperSnake("HTTPMethod")).isEqualTo("HTTP_METHOD");
    assertThat(upperSnake("Sha256Kind")).isEqualTo("SHA256_KIND");
    assertThat(upperSnake("Color")).isEqualTo("COLOR");
    assertThat(upperSnake("MemberState")).isEqualTo("MEMBER_STATE");
  }
}
