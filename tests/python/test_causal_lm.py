"""Gemma4CausalLM.generate: greedy output equal to `gemma4 generate --greedy` and to KerasHub's own greedy
generation (text_all fixture); max_length, stop_token_ids, strip_prompt, samplers, streaming; Gemma4Tokenizer
equal to `gemma4 tokenize`."""

import json

import numpy as np
import pytest

import gemma4cpp
from conftest import FIXTURES, run_cli
from gemma4cpp.models import Gemma4CausalLM, Gemma4Tokenizer

PROMPT = "The quick brown fox"


@pytest.fixture(scope="module")
def causal_lm(test_model):
    return Gemma4CausalLM.from_preset(test_model)


def cli_greedy_ids(cli, model, prompt, max_tokens):
    out = run_cli(cli, "generate", "--model", model, "--raw", "--prompt", prompt, "--greedy", "--print-ids",
                  "--max-tokens", max_tokens)
    return [int(x) for x in out.strip().split(",") if x]


def test_greedy_generate_equals_the_cli(gemma4_cli, test_model, causal_lm):
    new = 12
    cli_ids = cli_greedy_ids(gemma4_cli, test_model, PROMPT, new)
    cli_text = run_cli(gemma4_cli, "generate", "--model", test_model, "--raw", "--prompt", PROMPT, "--greedy",
                       "--max-tokens", new)
    prompt_ids = [causal_lm.tokenizer.start_token_id] + list(causal_lm.tokenizer(PROMPT))
    stop = tuple(causal_lm.tokenizer._core.stop_ids())  # the CLI's stop tokens
    completion = causal_lm.generate(PROMPT, max_length=len(prompt_ids) + new, stop_token_ids=stop,
                                    strip_prompt=True)
    generated = list(causal_lm.last_generation["token_ids"])
    assert generated == cli_ids
    assert completion == cli_text[:-1]  # the CLI ends with a newline
    full = causal_lm.generate(PROMPT, max_length=len(prompt_ids) + new, stop_token_ids=stop)
    assert full == causal_lm.tokenizer._core.decode(prompt_ids + generated, True)
    assert full.startswith(PROMPT)


def test_greedy_generation_equals_kerashub():
    lm = Gemma4CausalLM.from_preset(FIXTURES / "text_all", max_context=64)
    assert lm.tokenizer is None
    prompt = np.load(FIXTURES / "text_all" / "inputs" / "token_ids.npy")[0]
    want = np.load(FIXTURES / "text_all" / "outputs" / "generated_token_ids.npy")[0]
    got = lm.generate(prompt, max_length=len(want), stop_token_ids=None)
    np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError, match="preprocessor"):
        lm.generate(prompt, max_length=len(want))  # stop_token_ids="auto" needs a tokenizer, as in KerasHub


def test_max_length_counts_the_prompt(causal_lm):
    prompt_len = 1 + len(causal_lm.tokenizer(PROMPT))
    causal_lm.generate(PROMPT, max_length=prompt_len + 5, stop_token_ids=None)
    assert len(causal_lm.last_generation["token_ids"]) == 5
    assert causal_lm.generate(PROMPT, max_length=prompt_len, strip_prompt=True) == ""
    with pytest.raises(ValueError, match="max_length"):
        causal_lm.generate(PROMPT, max_length=prompt_len - 1)
    with pytest.raises(ValueError, match="max_length"):
        causal_lm.generate(PROMPT, max_length=0)
    with pytest.raises(ValueError, match="max_context"):
        causal_lm.generate(PROMPT, max_length=10**6)


def test_stop_token_ids(causal_lm):
    prompt_len = 1 + len(causal_lm.tokenizer(PROMPT))
    causal_lm.generate(PROMPT, max_length=prompt_len + 8, stop_token_ids=None)
    free = list(causal_lm.last_generation["token_ids"])
    # Stopping on the 4th generated token: generation ends there.
    causal_lm.generate(PROMPT, max_length=prompt_len + 8, stop_token_ids=[free[3]])
    stopped = list(causal_lm.last_generation["token_ids"])
    assert stopped == free[:free.index(free[3]) + 1]
    assert causal_lm.last_generation["stop_reason"] == "stop_token"
    with pytest.raises(ValueError, match="stop_token_ids"):
        causal_lm.generate(PROMPT, stop_token_ids=[10**9])
    with pytest.raises(ValueError, match="stop_token_ids"):
        causal_lm.generate(PROMPT, stop_token_ids="eos")


def test_batch_of_prompts(causal_lm):
    prompts = [PROMPT, "Hello"]
    batch = causal_lm.generate(prompts, max_length=20, strip_prompt=True)
    assert batch == [causal_lm.generate(p, max_length=20, strip_prompt=True) for p in prompts]


def test_samplers(causal_lm):
    samplers = gemma4cpp.samplers
    greedy = causal_lm.generate(PROMPT, max_length=20, stop_token_ids=None)
    assert causal_lm.generate(PROMPT, max_length=20, stop_token_ids=None, sampler="greedy") == greedy
    # top_k with k=1 is greedy whatever the seed.
    assert causal_lm.generate(PROMPT, max_length=20, stop_token_ids=None,
                              sampler=samplers.TopKSampler(k=1, seed=5)) == greedy
    # A seeded sampler repeats itself; different seeds (almost surely) differ on a random model.
    a = [causal_lm.generate(PROMPT, max_length=30, stop_token_ids=None, sampler=samplers.RandomSampler(seed=s))
         for s in (1, 1, 2)]
    assert a[0] == a[1] and a[0] != a[2]
    causal_lm.compile(sampler=samplers.TopPSampler(p=0.9, seed=7))
    assert causal_lm.generate(PROMPT, max_length=30, stop_token_ids=None) == causal_lm.generate(
        PROMPT, max_length=30, stop_token_ids=None)
    causal_lm.compile(sampler="greedy")
    assert causal_lm.generate(PROMPT, max_length=20, stop_token_ids=None) == greedy
    assert isinstance(samplers.get("top_k"), samplers.TopKSampler) and samplers.get("top_k").k == 5
    assert samplers.get("top_p").p == 0.1 and samplers.get("top_p").k is None
    assert isinstance(samplers.get({"class_name": "keras_hub>GreedySampler", "config": {}}), samplers.GreedySampler)
    with pytest.raises(ValueError, match="beam"):
        samplers.get("beam")
    with pytest.raises(KeyError):
        samplers.get("Greedy")
    with pytest.raises(ValueError, match="`k`"):
        samplers.TopKSampler(k=0)
    with pytest.raises(ValueError, match="`p`"):
        samplers.TopPSampler(p=1.5)
    with pytest.raises(ValueError, match="temperature"):
        samplers.RandomSampler(temperature=0)


def test_stream_yields_the_completion(causal_lm):
    prompt_len = 1 + len(causal_lm.tokenizer(PROMPT))
    whole = causal_lm.generate(PROMPT, max_length=prompt_len + 16, stop_token_ids=None, strip_prompt=True)
    pieces = list(causal_lm.generate_stream(PROMPT, max_length=prompt_len + 16, stop_token_ids=None))
    assert "".join(pieces) == whole and len(pieces) > 1
    assert len(causal_lm.last_generation["token_ids"]) == 16
    # Leaving the loop early stops generation and frees the model for the next call.
    stream = causal_lm.generate_stream(PROMPT, max_length=prompt_len + 200, stop_token_ids=None)
    next(stream)
    with pytest.raises(RuntimeError, match="already generating"):
        causal_lm.generate(PROMPT, max_length=prompt_len + 2)
    stream.close()
    assert causal_lm.generate(PROMPT, max_length=prompt_len + 16, stop_token_ids=None, strip_prompt=True) == whole


def test_tokenizer_equals_the_cli(gemma4_cli, test_model):
    tokenizer = Gemma4Tokenizer.from_preset(test_model)
    texts = ["Hello world", "  spaces\tand\nnew lines", "ünïcödé 日本語 🙂", "<bos>special<|turn>"]
    for text in texts:
        cli = json.loads(run_cli(gemma4_cli, "tokenize", "--model", test_model, "--text", text).strip())
        assert list(tokenizer(text)) == cli, text
        assert tokenizer.tokenize(text).dtype == np.int32
    batch = tokenizer.tokenize(texts[:2])
    assert [list(x) for x in batch] == [list(tokenizer(t)) for t in texts[:2]]
    ids = tokenizer("Hello world")
    assert tokenizer.detokenize(ids) == "Hello world"
    assert tokenizer.detokenize([tokenizer.start_token_id] + list(ids)) == "Hello world"  # <bos> is a control token
    assert tokenizer.detokenize([ids, ids]) == ["Hello world"] * 2
    assert tokenizer.id_to_token(tokenizer.start_token_id) == "<bos>" and tokenizer.token_to_id("<bos>") == 2
    assert tokenizer.vocabulary_size() == len(tokenizer.get_vocabulary())
    with pytest.raises(ValueError, match="token"):
        tokenizer.token_to_id("no such token at all")
    with pytest.raises(ValueError, match="id"):
        tokenizer.id_to_token(-1)


def test_presets_and_errors():
    presets = Gemma4CausalLM.presets
    assert list(presets)[:2] == ["gemma4_2b", "gemma4_instruct_2b"] and len(presets) == 12
    assert presets["gemma4_2b"]["kaggle_handle"].startswith("kaggle://")
    with pytest.raises(TypeError, match="from_preset"):
        Gemma4CausalLM(backbone=None, preprocessor=None)
    with pytest.raises(gemma4cpp.Error):
        Gemma4CausalLM.from_preset("/no/such/folder")
