// gemma4cpp._core.Tokenizer: gemma4::Tokenizer (Hugging Face tokenizer.json BPE or SentencePiece).
#include <gemma4/tokenizer.h>

#include <memory>

#include "bindings.h"

namespace gemma4::python {

void bind_tokenizer(py::module_& m) {
  py::class_<Tokenizer, std::shared_ptr<Tokenizer>>(m, "Tokenizer")
      .def_static(
          "load", [](const std::string& path) { return std::shared_ptr<Tokenizer>(Tokenizer::load(path)); },
          py::arg("path"), "A tokenizer.json, a SentencePiece model, or a folder holding one.")
      .def_static(
          "for_model",
          [](const std::string& model) {
            py::gil_scoped_release release;
            return std::shared_ptr<Tokenizer>(Tokenizer::for_model(model));
          },
          py::arg("model"), "The tokenizer of any model Backbone::load accepts (no weights are read).")
      .def(
          "encode",
          [](const Tokenizer& t, const std::string& text) {
            std::vector<int32_t> ids;
            {
              py::gil_scoped_release release;
              ids = t.encode(text);
            }
            const auto count = static_cast<py::ssize_t>(ids.size());
            return to_numpy(std::move(ids), {count});
          },
          py::arg("text"), "Text -> int32 ids (never adds <bos>).")
      .def(
          "decode",
          [](const Tokenizer& t, const std::vector<int32_t>& ids, bool skip_special) {
            return t.decode(ids, skip_special);
          },
          py::arg("ids"), py::arg("skip_special") = false)
      .def("token_to_piece", &Tokenizer::token_to_piece, py::arg("id"))
      .def("piece_to_id", [](const Tokenizer& t, const std::string& piece) { return t.piece_to_id(piece); },
           py::arg("piece"))
      .def("vocab_size", &Tokenizer::vocab_size)
      .def("is_special", &Tokenizer::is_special, py::arg("id"))
      .def("kind", &Tokenizer::kind)
      .def("source", &Tokenizer::source)
      .def("stop_ids", &Tokenizer::stop_ids)
      .def("special_ids", [](const Tokenizer& t) {
        const SpecialTokenIds& s = t.special_ids();
        py::dict out;
        out["pad"] = s.pad;
        out["eos"] = s.eos;
        out["bos"] = s.bos;
        out["unk"] = s.unk;
        out["mask"] = s.mask;
        out["turn_start"] = s.turn_start;
        out["turn_end"] = s.turn_end;
        out["image_start"] = s.image_start;
        out["image"] = s.image;
        out["image_end"] = s.image_end;
        out["audio_start"] = s.audio_start;
        out["audio"] = s.audio;
        out["audio_end"] = s.audio_end;
        return out;
      });
}

}  // namespace gemma4::python
