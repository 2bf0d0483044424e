"""Writes Gemma 4 encoder GGUF files from a KerasHub fixture's Hugging Face files, independently of gemma4.cpp.

  mmproj FIXTURE OUT             llama.cpp's projector file: the rules of conversion/gemma.py's
                                 Gemma4VisionAudioModel applied with gguf-py's own TensorNameMap and GGUFWriter
  ollama FIXTURE TEXT_GGUF OUT   ollama's single file: TEXT_GGUF's text model with the tokenizer as ollama's
                                 convert/convert_gemma4.go writes it, plus v.* / a.* / mm.* tensors under its names
  bad KIND FIXTURE OUT           an mmproj with one defect: projector, missing, shape

Needs numpy and gguf-py (sys.path set by the caller via GGUF_PY). Everything is float32, as the fixtures are.
"""
import json
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.environ["GGUF_PY"])
import gguf  # noqa: E402

CLIP_SUFFIXES = (".weight", ".bias", ".input_max", ".input_min", ".output_max", ".output_min")


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", (name, info["dtype"])
        begin, end = info["data_offsets"]
        out[name] = np.frombuffer(data[begin:end], dtype=np.float32).reshape(info["shape"]).copy()
    return out


def torch_softplus_f32(x):
    # torch.nn.functional.softplus (beta 1, threshold 20), computed in float32 as the converter's tensors are.
    x = x.astype(np.float32)
    return np.where(x > np.float32(20), x, np.log1p(np.exp(x))).astype(np.float32)


def is_audio(name):
    return "audio_tower" in name or "embed_audio" in name


def llama_cpp_tensors(weights, config):
    """(gguf name, array) pairs as Gemma4VisionAudioModel.modify_tensors + map_tensor_name produce them."""
    tmap = gguf.get_tensor_name_map(gguf.MODEL_ARCH.MMPROJ, 128)
    out = []
    for name, data in weights.items():
        if "language_model." in name:  # MmprojModel.filter_tensors
            continue
        if data.ndim == 0:
            data = data.reshape(1)
        if is_audio(name):
            name = name.replace("model.audio_tower.", "conformer.").replace(".linear.", ".")
            if name.endswith("per_dim_key_scale") or name.endswith("per_dim_scale"):
                name += ".weight"
                data = torch_softplus_f32(data)
            if "lconv1d.depthwise_conv1d" in name and name.endswith(".weight"):
                assert data.shape[1] == 1
                data = data.reshape(data.shape[0], data.shape[2])
        else:
            name = name.replace("model.vision_tower.encoder.", "vision_model.model.").replace(".linear.weight", ".weight")
            if name.endswith("layer_scalar") or name.endswith("position_embedding_table"):
                name += ".weight"
            if name.endswith("patch_embedder.input_proj.weight"):
                n_embd, ksize_sq_c = data.shape
                p = int(round((ksize_sq_c // 3) ** 0.5))
                data = data.reshape(n_embd, p, p, 3).transpose(0, 3, 1, 2).copy()
        mapped = tmap.get_name(name, try_suffixes=CLIP_SUFFIXES)
        if mapped is None:
            raise ValueError("Can not map tensor " + name)
        out.append((mapped, np.ascontiguousarray(data, dtype=np.float32)))
    return out


def write_mmproj(fixture, path, defect=None):
    config = json.load(open(os.path.join(fixture, "config.json")))
    ext = config.get("keras_hub_extensions", {})
    weights = read_safetensors(os.path.join(fixture, "model.safetensors"))
    n_embd_text = config["text_config"]["hidden_size"]
    vision = config.get("vision_config")
    audio = config.get("audio_config")
    w = gguf.GGUFWriter(path, "clip")  # MODEL_ARCH.MMPROJ's name
    w.add_type(gguf.GGUFType.MMPROJ)
    w.add_file_type(gguf.LlamaFileType.ALL_F32)
    if vision:
        processor = json.load(open(os.path.join(fixture, "processor_config.json")))["image_processor"]
        w.add_clip_has_vision_encoder(True)
        w.add_vision_projection_dim(n_embd_text)
        w.add_vision_image_size(224)
        w.add_vision_patch_size(vision["patch_size"])
        w.add_vision_embedding_length(vision["hidden_size"])
        w.add_vision_feed_forward_length(vision["intermediate_size"])
        w.add_vision_block_count(vision["num_hidden_layers"])
        w.add_vision_head_count(vision["num_attention_heads"])
        w.add_vision_image_mean(processor["image_mean"])
        w.add_vision_image_std(processor["image_std"])
        w.add_clip_vision_projector_type("gemma3" if defect == "projector" else gguf.VisionProjectorType.GEMMA4V)
        w.add_vision_attention_layernorm_eps(vision.get("layer_norm_eps", 1e-6))
        # Not written by the gemma4 converter (Gemma 4 pools 3x3), but read by clip.cpp for gemma4v: the
        # fixtures pool 2x2.
        w.add_uint32(gguf.Keys.ClipVision.Projector.SCALE_FACTOR, vision["pooling_kernel_size"])
    if audio:
        w.add_clip_has_audio_encoder(True)
        w.add_audio_projection_dim(n_embd_text)
        w.add_audio_embedding_length(audio["hidden_size"])
        w.add_audio_feed_forward_length(audio["hidden_size"] * 4)
        w.add_audio_block_count(audio["num_hidden_layers"])
        w.add_audio_head_count(audio["num_attention_heads"])
        w.add_clip_audio_projector_type(gguf.VisionProjectorType.GEMMA4A)
        # The converter reads input_feat_size (default 128); these fixtures keep it in keras_hub_extensions.
        w.add_audio_num_mel_bins(audio.get("input_feat_size", ext.get("audio_input_feat_size", 128)))
        w.add_audio_attention_layernorm_eps(audio.get("layer_norm_eps", 1e-6))
        # gemma4.cpp's own keys for what llama.cpp hard-codes (12 / 13): the fixtures use smaller blocks.
        w.add_uint32("gemma4cpp.audio.attention_chunk_size", audio["attention_chunk_size"])
        w.add_uint32("gemma4cpp.audio.attention_context_left", audio["attention_context_left"])
    for name, data in llama_cpp_tensors(weights, config):
        if defect == "missing" and name == "v.blk.1.attn_k.weight":
            continue
        if defect == "shape" and name == "v.blk.0.ffn_up.weight":
            data = np.zeros((data.shape[0] + 1, data.shape[1]), dtype=np.float32)
        w.add_tensor(name, data)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


# ollama's convert/convert_gemma4.go Replacements (strings.NewReplacer: at each position the first listed
# pair that matches wins), restricted to the vision/audio names.
OLLAMA_REPLACEMENTS = [
    (".linear.weight", ".weight"), (".linear.bias", ".bias"),
    ("model.audio_tower.subsample_conv_projection.layer0.conv", "a.conv1d.0"),
    ("model.audio_tower.subsample_conv_projection.layer0.norm", "a.conv1d.0.norm"),
    ("model.audio_tower.subsample_conv_projection.layer1.conv", "a.conv1d.1"),
    ("model.audio_tower.subsample_conv_projection.layer1.norm", "a.conv1d.1.norm"),
    ("model.audio_tower.subsample_conv_projection.input_proj_linear", "a.pre_encode.out"),
    ("model.audio_tower.layers", "a.blk"),
    ("self_attn.relative_k_proj", "linear_pos"), ("self_attn.per_dim_scale", "per_dim_scale"),
    ("self_attn.post", "attn_out"), ("norm_pre_attn", "ln1"), ("norm_post_attn", "ln2"),
    ("feed_forward1.pre_layer_norm", "ffn_norm"), ("feed_forward1.post_layer_norm", "ffn_post_norm"),
    ("feed_forward1.ffw_layer_1", "ffn_up"), ("feed_forward1.ffw_layer_2", "ffn_down"),
    ("feed_forward2.pre_layer_norm", "ffn_norm_1"), ("feed_forward2.post_layer_norm", "ffn_post_norm_1"),
    ("feed_forward2.ffw_layer_1", "ffn_up_1"), ("feed_forward2.ffw_layer_2", "ffn_down_1"),
    ("lconv1d.depthwise_conv1d", "conv_dw"), ("lconv1d.pre_layer_norm", "conv_norm"),
    ("lconv1d.conv_norm", "norm_conv"), ("lconv1d.linear_start", "conv_pw1"), ("lconv1d.linear_end", "conv_pw2"),
    ("norm_out", "layer_pre_norm"),
    ("model.embed_audio.embedding_projection", "mm.a.input_projection"),
    ("model.audio_tower.output_proj", "mm.a.fc"),
    ("model.vision_tower.encoder.layers", "v.blk"),
    ("model.vision_tower.patch_embedder.input_proj", "v.patch_embd"),
    ("model.vision_tower.patch_embedder.position_embedding_table", "v.position_embd.weight"),
    ("model.vision_tower.std_bias", "v.std_bias"), ("model.vision_tower.std_scale", "v.std_scale"),
    ("model.embed_vision.embedding_projection", "mm.input_projection"),
    ("input_layernorm", "attn_norm"), ("self_attn.q_proj", "attn_q"), ("self_attn.q_norm", "attn_q_norm"),
    ("self_attn.k_proj", "attn_k"), ("self_attn.k_norm", "attn_k_norm"), ("self_attn.v_proj", "attn_v"),
    ("self_attn.o_proj", "attn_output"), ("mlp.gate_proj", "ffn_gate"), ("mlp.down_proj", "ffn_down"),
    ("mlp.up_proj", "ffn_up"),
    ("post_attention_layernorm", "post_attention_norm"), ("pre_feedforward_layernorm", "ffn_norm"),
    ("post_feedforward_layernorm", "post_ffw_norm"),
]


def ollama_replace(name):
    out, i = [], 0
    while i < len(name):
        for old, new in OLLAMA_REPLACEMENTS:
            if name.startswith(old, i):
                out.append(new)
                i += len(old)
                break
        else:
            out.append(name[i])
            i += 1
    return "".join(out)


def ollama_encoder_tensors(weights, vision):
    out, clamp = [], {}
    for name, data in weights.items():
        if "language_model." in name:
            continue
        if ("vision_tower" in name or "embed_vision" in name) and name.endswith(
                (".input_min", ".input_max", ".output_min", ".output_max")):
            clamp[name] = float(data.reshape(-1)[0])
        new = ollama_replace(name)
        if new.startswith("v.blk."):
            for old, repl in ((".attn_norm.", ".ln1."), (".ffn_norm.", ".ln2."), (".attn_output.", ".attn_out."),
                              (".post_attention_norm.", ".attn_post_norm."), (".post_ffw_norm.", ".ffn_post_norm.")):
                new = new.replace(old, repl, 1)
        if new.startswith("a.blk.") and new.endswith("per_dim_scale"):
            new += ".weight"
            data = np.log1p(np.exp(data.astype(np.float64))).astype(np.float32)  # softplusRepacker
        if data.ndim == 0:
            data = data.reshape(1)
        if new.startswith("a.blk.") and "conv_dw" in new and new.endswith(".weight") and data.ndim == 3:
            data = data.reshape(data.shape[0], data.shape[2])
        if "v.patch_embd.weight" in new and data.ndim == 2:  # reshapePatchEmbed; ollama stores it as F16
            n_embd, ksq_c = data.shape
            p = int(round((ksq_c // 3) ** 0.5))
            data = data.reshape(n_embd, p, p, 3).transpose(0, 3, 1, 2).copy()
        out.append((new, np.ascontiguousarray(data, dtype=np.float32)))
    if clamp and vision:  # v.clamp_data: layer x (q,k,v,out,gate,up,down) x (inMin,inMax,outMin,outMax), then 4
        layers = vision["num_hidden_layers"]
        names = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
        packed = np.zeros((layers * 7 + 1) * 4, dtype=np.float32)
        for l in range(layers):
            for li, ln in enumerate(names):
                for si, sfx in enumerate((".input_min", ".input_max", ".output_min", ".output_max")):
                    for orig, val in clamp.items():
                        if f"layers.{l}." in orig and orig.endswith(sfx) and ln in orig:
                            packed[(l * 7 + li) * 4 + si] = val
        out.append(("v.clamp_data", packed))
    return out


def write_ollama(fixture, text_gguf, path):
    config = json.load(open(os.path.join(fixture, "config.json")))
    ext = config.get("keras_hub_extensions", {})
    weights = read_safetensors(os.path.join(fixture, "model.safetensors"))
    vision, audio = config.get("vision_config"), config.get("audio_config")
    reader = gguf.GGUFReader(text_gguf)
    w = gguf.GGUFWriter(path, "gemma4")
    skip = {"general.architecture", "tokenizer.ggml.model", "tokenizer.ggml.token_type", "tokenizer.ggml.scores"}
    for key, field in reader.fields.items():
        if key.startswith("GGUF.") or key in skip:
            continue
        vtype = field.types[0]
        sub = field.types[-1] if vtype == gguf.GGUFValueType.ARRAY else None
        w.add_key_value(key, field.contents(), vtype, sub_type=sub)
    # ollama's tokenizer (convert/tokenizer.go parseVocabularyFromTokenizer): model "llama", pre "gemma4",
    # score = id, type NORMAL except added tokens (CONTROL when special, else USER_DEFINED).
    types = list(reader.fields["tokenizer.ggml.token_type"].contents())
    ollama_types = [3 if t == 3 else 4 if t == 4 else 1 for t in types]
    w.add_string("tokenizer.ggml.model", "llama")
    w.add_string("tokenizer.ggml.pre", "gemma4")
    w.add_array("tokenizer.ggml.scores", [float(i) for i in range(len(types))])
    w.add_key_value("tokenizer.ggml.token_type", ollama_types, gguf.GGUFValueType.ARRAY, sub_type=gguf.GGUFValueType.INT32)
    if vision:
        w.add_uint32("gemma4.vision.block_count", vision["num_hidden_layers"])
        w.add_uint32("gemma4.vision.embedding_length", vision["hidden_size"])
        w.add_uint32("gemma4.vision.attention.head_count", vision["num_attention_heads"])
        w.add_uint32("gemma4.vision.feed_forward_length", vision["intermediate_size"])
        w.add_uint32("gemma4.vision.patch_size", vision["patch_size"])
        w.add_uint32("gemma4.vision.num_channels", 3)
        w.add_uint32("gemma4.vision.projector.scale_factor", vision["pooling_kernel_size"])
        w.add_float32("gemma4.vision.attention.layer_norm_epsilon", vision.get("layer_norm_eps", 1e-6))
    if audio:
        w.add_uint32("gemma4.audio.block_count", audio["num_hidden_layers"])
        w.add_uint32("gemma4.audio.embedding_length", audio["hidden_size"])
        w.add_uint32("gemma4.audio.feed_forward_length", audio["hidden_size"] * 4)
        w.add_uint32("gemma4.audio.attention.head_count", audio["num_attention_heads"])
        w.add_float32("gemma4.audio.attention.layer_norm_epsilon", audio.get("rms_norm_eps", 1e-6))
        w.add_uint32("gemma4.audio.conv_kernel_size", audio["conv_kernel_size"])
        # Read by ollama's runtime (default 128) but not written by its converter; the fixtures have 16.
        w.add_uint32("gemma4.audio.num_mel_bins", ext.get("audio_input_feat_size", 128))
        w.add_uint32("gemma4cpp.audio.attention_chunk_size", audio["attention_chunk_size"])
        w.add_uint32("gemma4cpp.audio.attention_context_left", audio["attention_context_left"])
    for t in reader.tensors:
        w.add_tensor(t.name, np.array(t.data), raw_dtype=t.tensor_type)
    for name, data in ollama_encoder_tensors(weights, vision):
        w.add_tensor(name, data)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "mmproj":
        write_mmproj(sys.argv[2], sys.argv[3])
    elif mode == "ollama":
        write_ollama(sys.argv[2], sys.argv[3], sys.argv[4])
    elif mode == "bad":
        write_mmproj(sys.argv[3], sys.argv[4], defect=sys.argv[2])
    else:
        sys.exit("unknown mode " + mode)
