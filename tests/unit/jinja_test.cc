// Jinja interpreter: language features and error cases. Expected texts are what Python's jinja2 3.1 renders
// in transformers' environment (trim_blocks, lstrip_blocks, loopcontrols), worked out by hand from jinja2's
// documented semantics and checked against jinja2 while writing these tests.
#include <gemma4/error.h>
#include <gtest/gtest.h>

#include <string>

#include "text/jinja/jinja.h"

namespace {

using Json = nlohmann::ordered_json;

std::string R(const std::string& tpl, const Json& ctx = Json::object()) {
  return gemma4::render_jinja(tpl, ctx, "test");
}

std::string error_of(const std::string& tpl, const Json& ctx = Json::object(),
                     gemma4::JinjaRenderOptions opt = gemma4::JinjaRenderOptions()) {
  try {
    gemma4::JinjaTemplate t(tpl, "unit.jinja");
    t.render(ctx, opt);
  } catch (const gemma4::Error& e) {
    return e.what();
  }
  return "";
}

TEST(Jinja, PythonValueFormatting) {
  EXPECT_EQ(R("{{ [1, 'a', none, true, 1.0, {'k': (1,)}] }}"), "[1, 'a', None, True, 1.0, {'k': (1,)}]");
  EXPECT_EQ(R("{{ 1.5e20 }} {{ 1e-5 }} {{ 0.1 + 0.2 }} {{ 3 / 2 }} {{ 4 / 2 }} {{ 7 // 2 }} {{ -7 % 3 }} {{ 2 ** 10 }}"),
            "1.5e+20 1e-05 0.30000000000000004 1.5 2.0 3 2 1024");
  EXPECT_EQ(R("{{ x }}|{{ x.y is defined }}", {{"x", nullptr}}), "None|False");
  EXPECT_EQ(R("{{ \"it's\" }} {{ [\"it's\"] }}"), "it's [\"it's\"]");
  EXPECT_EQ(R("{{ v }}", {{"v", 2.0}}), "2.0");
}

TEST(Jinja, WhitespaceControl) {
  // trim_blocks drops the newline after a block tag; lstrip_blocks drops indentation before it.
  EXPECT_EQ(R("  {% if true %}\n  x\n  {% endif %}\ny"), "  x\ny");
  EXPECT_EQ(R("a  {%- if true -%}  b  {%- endif -%}  c"), "abc");
  EXPECT_EQ(R("a {{- 'b' -}} c"), "abc");
  EXPECT_EQ(R("  {%+ if true %}x{% endif %}"), "  x");
  EXPECT_EQ(R("{# comment #}\nx{% raw %}{{ y }}{% endraw %}"), "x{{ y }}");
  EXPECT_EQ(R("x\n"), "x");  // keep_trailing_newline=False
}

TEST(Jinja, LoopsAndScopes) {
  const Json ctx = {{"m", Json::array({"a", "b", "c"})}};
  EXPECT_EQ(R("{% for x in m %}{{ loop.index }}{{ x }}{{ loop.revindex0 }}{% if not loop.last %},{% endif %}{% endfor %}", ctx),
            "1a2,2b1,3c0");
  EXPECT_EQ(R("{% for x in m if x != 'b' %}{{ loop.index }}/{{ loop.length }}{% endfor %}", ctx), "1/22/2");
  EXPECT_EQ(R("{% for x in m %}{% if x == 'b' %}{% continue %}{% endif %}{% if x == 'c' %}{% break %}{% endif %}{{ x }}{% endfor %}", ctx), "a");
  EXPECT_EQ(R("{% for x in [] %}x{% else %}empty{% endfor %}"), "empty");
  EXPECT_EQ(R("{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }};{% endfor %}"), "a=1;b=2;");
  // A set inside a loop body does not leak; namespace attributes do.
  EXPECT_EQ(R("{% set x = 0 %}{% set ns = namespace(n=0) %}{% for i in range(3) %}{% set x = i %}{% set ns.n = ns.n + i %}{% endfor %}{{ x }}{{ ns.n }}"), "03");
  EXPECT_EQ(R("{% for x in m %}{{ loop.previtem is defined }}{{ loop.nextitem | default('-') }}{% endfor %}", ctx), "FalsebTruecTrue-");
  EXPECT_EQ(R("{% set a %}{{ 1 + 1 }}!{% endset %}[{{ a }}]"), "[2!]");
}

TEST(Jinja, MacrosAndCall) {
  EXPECT_EQ(R("{% macro f(a, b=2) %}[{{ a }}{{ b }}]{% endmacro %}{{ f(1) }}{{ f(1, b=3) }}"), "[12][13]");
  EXPECT_EQ(R("{% macro w() %}<{{ caller() }}>{% endmacro %}{% call w() %}in{% endcall %}"), "<in>");
  EXPECT_EQ(R("{% macro r(n) %}{% if n > 0 %}{{ n }}{{ r(n - 1) }}{% endif %}{% endmacro %}{{ r(3) }}"), "321");
  EXPECT_EQ(R("{% filter upper %}abc{% endfilter %}"), "ABC");
}

TEST(Jinja, ExpressionsAndMethods) {
  EXPECT_EQ(R("{{ 'a' if x else 'b' }}{{ 'yes' if 'ell' in 'hello' }}{{ 3 not in [1, 2] }}"), "byesTrue");
  EXPECT_EQ(R("{{ 'hello'[::-1] }} {{ [1, 2, 3][1:] }} {{ 'abc'[-1] }}"), "olleh [2, 3] c");
  EXPECT_EQ(R("{{ '  x  '.strip() }}|{{ 'a,b'.split(',') }}|{{ 'Hi'.upper() }}{{ 'Hi'.startswith('H') }}"), "x|['a', 'b']|HITrue");
  EXPECT_EQ(R("{{ 'a{}b{x}'.format(1, x=2) }} {{ '%s-%d' % ('a', 3) }} {{ 'x' ~ 1 ~ none }}"), "a1b2 a-3 x1None");
  EXPECT_EQ(R("{{ d.get('k', 'dflt') }}{{ d.x }}{{ d['x'] }}", {{"d", {{"x", 5}}}}), "dflt55");
  // `is` binds tighter than `+`: 1 + (2 is odd) == 1 + False.
  EXPECT_EQ(R("{{ 1 < 2 < 3 }}{{ 1 + 2 is odd }}{{ x is none }}{{ 'A' is upper }}", {{"x", nullptr}}), "True1TrueTrue");
}

TEST(Jinja, Filters) {
  const Json ctx = {{"msgs", Json::array({{{"role", "user"}, {"c", "b"}}, {{"role", "model"}, {"c", "a"}}})}};
  EXPECT_EQ(R("{{ msgs | selectattr('role', 'equalto', 'user') | list | length }}", ctx), "1");
  EXPECT_EQ(R("{{ msgs | map(attribute='c') | join(',') }}", ctx), "b,a");
  EXPECT_EQ(R("{{ msgs | sort(attribute='c') | map(attribute='role') | list }}", ctx), "['model', 'user']");
  EXPECT_EQ(R("{{ {'b': 1, 'a': 2} | dictsort }}"), "[('a', 2), ('b', 1)]");
  EXPECT_EQ(R("{{ {'k': 'é\"', 'n': [1, 2.5, none, true]} | tojson }}"), "{\"k\": \"é\\\"\", \"n\": [1, 2.5, null, true]}");
  EXPECT_EQ(R("{{ {'k': [1]} | tojson(indent=2) }}"), "{\n  \"k\": [\n    1\n  ]\n}");
  EXPECT_EQ(R("{{ x | default('d') }}{{ '' | default('e', true) }}{{ ' a ' | trim }}{{ 'hello world' | title }}"), "deaHello World");
  EXPECT_EQ(R("{{ '3.7' | int }}{{ 'x' | int(5) }}{{ '2' | float }}{{ [3, 1, 2] | max }}{{ [1, 2] | sum }}"), "352.033");
  EXPECT_EQ(R("{{ 'a\nb' | indent(2) }}|{{ [1, 1, 2] | unique | list }}|{{ [1, 2] | reverse | list }}"), "a\n  b|[1, 2]|[2, 1]");
  EXPECT_EQ(R("{{ 'x' | safe + '<' }}|{{ '<a>' | e }}"), "x&lt;|&lt;a&gt;");
  // map/select give one-pass generators: always true, not JSON serialisable (as in jinja2).
  EXPECT_EQ(R("{{ 'T' if [] | select else 'F' }}"), "T");
  EXPECT_NE(error_of("{{ [1] | map('string') | tojson }}"), "");
}

TEST(Jinja, UndefinedSemantics) {
  EXPECT_EQ(R("[{{ nope }}]{{ nope is defined }}{{ nope | length }}{% for x in nope %}x{% endfor %}"), "[]False0");
  EXPECT_NE(error_of("{{ nope.attr }}").find("'nope' is undefined"), std::string::npos);
  EXPECT_NE(error_of("{{ nope + 1 }}").find("UndefinedError"), std::string::npos);
  EXPECT_EQ(R("{{ d.missing is defined }}{{ d.missing }}", {{"d", Json::object()}}), "False");
}

TEST(Jinja, SandboxRefusesMutation) {
  EXPECT_NE(error_of("{% set l = [1] %}{{ l.append(2) }}").find("SecurityError"), std::string::npos);
  EXPECT_NE(error_of("{% set d = {} %}{{ d.update({'a': 1}) }}").find("SecurityError"), std::string::npos);
  EXPECT_NE(error_of("{{ range(1000000) | length }}").find("Range too big"), std::string::npos);
}

TEST(Jinja, TransformersGlobals) {
  const std::string e = error_of("line1\n{{ raise_exception('roles must alternate') }}");
  EXPECT_NE(e.find("roles must alternate"), std::string::npos) << e;
  EXPECT_NE(e.find("unit.jinja"), std::string::npos) << e;
  EXPECT_NE(e.find("line 2"), std::string::npos) << e;
  gemma4::JinjaRenderOptions opt;
  opt.now = 0;  // 1970-01-01 in UTC; the year is the same in every time zone within a day of it
  gemma4::JinjaTemplate t("{{ strftime_now('%Y') }}", "t");
  const std::string year = t.render(Json::object(), opt);
  EXPECT_TRUE(year == "1970" || year == "1969") << year;
  EXPECT_EQ(R("{% generation %}kept{% endgeneration %}"), "kept");
}

TEST(Jinja, SyntaxErrorsNameOriginAndLine) {
  std::string e = error_of("ok\n\n{% if x %}\nunclosed");
  EXPECT_NE(e.find("unit.jinja"), std::string::npos) << e;
  EXPECT_NE(e.find("endif"), std::string::npos) << e;
  e = error_of("a\nb\n{{ 1 + }}");
  EXPECT_NE(e.find("line 3"), std::string::npos) << e;
  e = error_of("x\n{{ 'a' | no_such_filter }}");
  EXPECT_NE(e.find("line 2"), std::string::npos) << e;
  EXPECT_NE(e.find("No filter named 'no_such_filter'"), std::string::npos) << e;
  e = error_of("{% frobnicate %}");
  EXPECT_NE(e.find("unknown tag 'frobnicate'"), std::string::npos) << e;
  EXPECT_NE(error_of("{{ x is no_such_test }}").find("No test named"), std::string::npos);
  EXPECT_NE(error_of("{{ 'unterminated }}"), "");
  EXPECT_NE(error_of("{{ (1 }}"), "");
  EXPECT_NE(error_of("{# never closed"), "");
  // Unknown filters inside `if` bodies only fail when evaluated, as in jinja2.
  EXPECT_EQ(R("{% if false %}{{ x | no_such_filter }}{% endif %}ok"), "ok");
  EXPECT_NE(error_of("{% if true %}{{ x | no_such_filter }}{% endif %}").find("No filter named"), std::string::npos);
}

TEST(Jinja, HostileTemplatesAreBounded) {
  std::string e = error_of("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}");
  EXPECT_NE(e.find("recursion limit"), std::string::npos) << e;
  gemma4::JinjaRenderOptions few_steps;
  few_steps.max_steps = 100000;
  e = error_of("{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}", Json::object(), few_steps);
  EXPECT_NE(e.find("step limit"), std::string::npos) << e;
  gemma4::JinjaRenderOptions small;
  small.max_output_bytes = 1000;
  e = error_of("{% for a in range(10000) %}xxxxxxxx{% endfor %}", Json::object(), small);
  EXPECT_NE(e.find("output limit"), std::string::npos) << e;
  e = error_of("{{ 'x' * 10000000000 }}");
  EXPECT_NE(e.find("limit"), std::string::npos) << e;
  e = error_of("{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}");
  EXPECT_NE(e.find("limit"), std::string::npos) << e;
  e = error_of("{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}");  // jinja2: RecursionError
  EXPECT_NE(e.find("nesting too deep"), std::string::npos) << e;
  std::string deep = "{{ 1";
  for (int i = 0; i < 20000; ++i) deep += " + 1";
  EXPECT_NE(error_of(deep + " }}").find("nested too deeply"), std::string::npos);
}

}  // namespace
