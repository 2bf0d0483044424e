#include "schema/tokenizer_spec.h"

namespace gemma4::text {

BpeSpec BpeSpec::gemma_defaults() {
  const std::string metaspace = "\xE2\x96\x81";  // U+2581, SentencePiece's word boundary
  BpeSpec spec;
  spec.unk_token = "<unk>";
  spec.byte_fallback = true;
  spec.fuse_unk = true;
  spec.normalizer.push_back(NormalizerStep{NormalizerStep::Kind::Replace, " ", metaspace});
  spec.decoder.replacements.emplace_back(metaspace, " ");
  spec.decoder.byte_fallback = true;
  return spec;
}

}  // namespace gemma4::text
