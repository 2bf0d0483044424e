#include "text/jinja/jinja.h"

#include <gemma4/error.h>

#include "text/jinja/interpreter.h"
#include "text/jinja/lexer.h"
#include "text/jinja/parser.h"

namespace gemma4 {

struct JinjaTemplate::Impl {
  std::string origin;
  jinja::Program program;
};

JinjaTemplate::JinjaTemplate(std::string_view source, std::string origin) : impl_(std::make_unique<Impl>()) {
  impl_->origin = std::move(origin);
  impl_->program = jinja::parse(jinja::tokenize(source, impl_->origin), impl_->origin);
}

JinjaTemplate::~JinjaTemplate() = default;
JinjaTemplate::JinjaTemplate(JinjaTemplate&&) noexcept = default;
JinjaTemplate& JinjaTemplate::operator=(JinjaTemplate&&) noexcept = default;

const std::string& JinjaTemplate::origin() const { return impl_->origin; }

std::string JinjaTemplate::render(const nlohmann::ordered_json& context, const JinjaRenderOptions& options) const {
  if (!context.is_object() && !context.is_null())
    throw Error("jinja template " + impl_->origin + ": the render context must be a JSON object, got " +
                std::string(context.type_name()));
  jinja::Value ctx = context.is_null() ? jinja::Value::dict({}) : jinja::Value::from_json(context);
  jinja::Limits limits;
  limits.max_output_bytes = options.max_output_bytes;
  limits.max_items = options.max_items;
  limits.max_steps = options.max_steps;
  limits.max_call_depth = options.max_call_depth;
  const std::time_t now = options.now ? *options.now : std::time(nullptr);
  jinja::Interpreter in(impl_->program, impl_->origin, &ctx.dict(), limits, now);
  return in.render();
}

std::string render_jinja(std::string_view template_text, const nlohmann::ordered_json& context, std::string_view origin) {
  return JinjaTemplate(template_text, std::string(origin)).render(context);
}

}  // namespace gemma4
