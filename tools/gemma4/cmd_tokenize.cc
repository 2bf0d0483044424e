// gemma4 tokenize: text to token ids and back, one line at a time.
//
//   gemma4 tokenize --tokenizer tokenizer.json  < lines.txt      # each line -> [id, id, ...]
//   gemma4 tokenize --model MODEL_DIR --json-input < strings.jsonl  # each line is a JSON string
//   gemma4 tokenize --tokenizer tokenizer.json --decode < ids.jsonl  # each line [ids] -> "text"
//   gemma4 tokenize --tokenizer vocabulary.spm --text "Hello"        # one text from the command line
//   gemma4 tokenize --model MODEL_DIR --chat < conversations.jsonl    # each line a chat request -> prompt ids
//   gemma4 tokenize --chat --render < conversations.jsonl             # ... -> the prompt text (JSON string)
#include <gemma4/chat_template.h>
#include <gemma4/error.h>
#include <gemma4/tokenizer.h>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "command_registry.h"

namespace {

struct TokenizeArgs {
  std::string tokenizer;
  std::string model;
  std::vector<std::string> texts;
  bool decode = false;
  bool json_input = false;
  bool add_bos = false;
  bool skip_special = false;
  bool pieces = false;
  bool chat = false;
  bool render = false;
  std::string chat_template;
  bool enable_thinking = false;
};

std::string json_string(const std::string& s) {
  return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string encode_line(const gemma4::Tokenizer& tok, const TokenizeArgs& args, const std::string& text) {
  std::vector<int32_t> ids;
  if (args.add_bos) {
    if (tok.bos_id() < 0) throw gemma4::Error("tokenize: --add-bos, but the vocabulary has no <bos> token");
    ids.push_back(tok.bos_id());
  }
  const std::vector<int32_t> encoded = tok.encode(text);
  ids.insert(ids.end(), encoded.begin(), encoded.end());
  std::string line = "[";
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) line += ',';
    line += args.pieces ? json_string(tok.token_to_piece(ids[i])) : std::to_string(ids[i]);
  }
  line += ']';
  return line;
}

std::string decode_line(const gemma4::Tokenizer& tok, const TokenizeArgs& args, const std::string& line,
                        size_t line_number) {
  std::vector<int32_t> ids;
  if (line.find_first_not_of(" \t\r") != std::string::npos) {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      throw gemma4::Error("tokenize --decode: input line " + std::to_string(line_number) +
                          " is not a JSON array of token ids: " + e.what());
    }
    if (!j.is_array())
      throw gemma4::Error("tokenize --decode: input line " + std::to_string(line_number) +
                          " is not a JSON array of token ids");
    for (const auto& v : j) {
      if (!v.is_number_integer())
        throw gemma4::Error("tokenize --decode: input line " + std::to_string(line_number) + " holds " + v.dump() +
                            ", which is not a token id");
      ids.push_back(v.get<int32_t>());
    }
  }
  return json_string(tok.decode(ids, args.skip_special));
}

// The template --chat renders with: --chat-template FILE, else the model's own (or the built-in one for its
// architecture), else Google's built-in mainline template.
const gemma4::ChatTemplate& chat_template(const TokenizeArgs& args) {
  static const gemma4::ChatTemplate chosen = !args.chat_template.empty() ? gemma4::ChatTemplate::from_file(args.chat_template)
                                             : !args.model.empty()       ? gemma4::chat_template_for_model(args.model)
                                                                         : gemma4::ChatTemplate::gemma4_mainline();
  return chosen;
}

// --chat: the line is a chat request (see gemma4/chat_template.h); returns the rendered prompt.
std::string chat_prompt(const TokenizeArgs& args, const std::string& line, size_t line_number) {
  try {
    gemma4::ChatRequest request = gemma4::parse_chat_request_json(line);
    if (args.enable_thinking) request.options.enable_thinking = true;
    return chat_template(args).render(request.messages, request.options);
  } catch (const gemma4::Error& e) {
    throw gemma4::Error("tokenize --chat: input line " + std::to_string(line_number) + ": " + e.what());
  }
}

std::string input_text(const TokenizeArgs& args, const std::string& line, size_t line_number) {
  if (args.chat) return chat_prompt(args, line, line_number);
  if (!args.json_input) return line;
  try {
    const nlohmann::json j = nlohmann::json::parse(line);
    if (!j.is_string()) throw gemma4::Error("");
    return j.get<std::string>();
  } catch (const std::exception&) {
    throw gemma4::Error("tokenize --json-input: input line " + std::to_string(line_number) +
                        " is not a JSON string (write text as \"...\" with JSON escapes)");
  }
}

void run_tokenize(const TokenizeArgs& args) {
  if (args.render && !args.chat) throw gemma4::Error("tokenize: --render needs --chat");
  if (args.chat && (args.decode || args.json_input))
    throw gemma4::Error("tokenize: --chat reads chat requests; it does not combine with --decode or --json-input");
  if (!args.tokenizer.empty() && !args.model.empty())
    throw gemma4::Error("tokenize: give one of --tokenizer FILE and --model DIR, not both");
  if (args.render) {  // the prompt text only: no tokenizer needed
    std::string line;
    size_t line_number = 0;
    std::string out;
    while (std::getline(std::cin, line)) {
      out += json_string(chat_prompt(args, line, ++line_number));
      out += '\n';
    }
    std::fwrite(out.data(), 1, out.size(), stdout);
    return;
  }
  if (args.tokenizer.empty() && args.model.empty())
    throw gemma4::Error("tokenize: give --tokenizer FILE or --model DIR");
  const auto tok = gemma4::Tokenizer::load(args.tokenizer.empty() ? args.model : args.tokenizer);

  std::ios::sync_with_stdio(false);
  std::string out;
  if (!args.texts.empty()) {
    for (const std::string& text : args.texts) {
      out += args.decode ? decode_line(*tok, args, text, 0) : encode_line(*tok, args, input_text(args, text, 0));
      out += '\n';
    }
    std::fwrite(out.data(), 1, out.size(), stdout);
    return;
  }
  std::string line;
  size_t line_number = 0;
  while (std::getline(std::cin, line)) {
    ++line_number;
    out += args.decode ? decode_line(*tok, args, line, line_number)
                       : encode_line(*tok, args, input_text(args, line, line_number));
    out += '\n';
    if (out.size() > (1 << 16)) {
      std::fwrite(out.data(), 1, out.size(), stdout);
      out.clear();
    }
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);
}

}  // namespace

GEMMA4_REGISTER_COMMAND(tokenize, [](CLI::App& app) {
  auto args = std::make_shared<TokenizeArgs>();
  auto* sub = app.add_subcommand(
      "tokenize",
      "Text to token ids: each stdin line becomes a JSON array of ids (no <bos> unless --add-bos); "
      "--decode turns JSON arrays of ids back into JSON strings");
  sub->add_option("--tokenizer", args->tokenizer,
                  "tokenizer.json, SentencePiece model (.spm/.model), or a folder holding one");
  sub->add_option("--model", args->model, "Model folder; uses the tokenizer inside it");
  sub->add_option("--text", args->texts, "Text to encode (or, with --decode, a JSON id array) instead of stdin");
  sub->add_flag("--decode", args->decode, "Decode: each input line is a JSON array of ids; prints JSON strings");
  sub->add_flag("--json-input", args->json_input,
                "Each input line is a JSON string (lets the text hold newlines and any character)");
  sub->add_flag("--add-bos", args->add_bos, "Put <bos> before each line's ids");
  sub->add_flag("--skip-special", args->skip_special, "With --decode: leave out special tokens (<bos>, <turn|>...)");
  sub->add_flag("--pieces", args->pieces, "Print the vocabulary pieces instead of ids");
  sub->add_flag("--chat", args->chat,
                "Each input line is a chat request {\"messages\": [...], \"tools\": [...], \"enable_thinking\": ...} "
                "(or a bare list of messages); encodes its Gemma 4 prompt");
  sub->add_option("--chat-template", args->chat_template,
                  "With --chat: render with this template (.jinja or tokenizer_config.json) instead of the model's");
  sub->add_flag("--render", args->render, "With --chat: print the prompt text (a JSON string) instead of ids");
  sub->add_flag("--enable-thinking", args->enable_thinking, "With --chat: turn thinking on for every request");
  sub->callback([args] { run_tokenize(*args); });
});
