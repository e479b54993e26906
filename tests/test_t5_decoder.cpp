// The T5 decoder family (model/families/t5_decoder.cpp) against transformers' T5 decoder on
// the same weights, the latent tokens standing as its encoder states (fixtures:
// tests/fixtures/hf/make_t5_decoder_fixtures.py): a T5 v1.0-style model (relu, tied head
// scaled by d_model^-0.5) and a v1.1-style one (gated-gelu, untied head, 3 heads of 8 in a
// width of 32, 16 buckets); then a whole model with T5 as its decoder, imported, trained a
// step, saved and decoded.
#include <torch/torch.h>
#include <ATen/CPUGeneratorImpl.h>

#include <QTemporaryDir>

#include <map>

#include "infer/generator.h"
#include "io/safetensors.h"
#include "model/family.h"
#include "model/hf_import.h"
#include "model/model_io.h"
#include "model/pretrained.h"
#include "model/vae_ddpm.h"
#include "test_util.h"

using namespace latent;

namespace {

std::map<std::string, at::Tensor> expected() {
  std::map<std::string, at::Tensor> m;
  for (auto& [k, v] : io::load(test::fixture("hf/t5_decoder_expected.safetensors"))) m.emplace(k, v);
  return m;
}

double maxDiff(const at::Tensor& a, const at::Tensor& b) { return (a - b).abs().max().item<double>(); }

// The folder's decoder for 3 latent tokens of 32 (= d_model), its latent path made the
// identity (linear = I, latent_ff's output projection 0), so the memory is z's tokens as given.
Decoder t5Decoder(const std::string& dir) {
  DecoderConfig base;
  base.dropout = 0.0;
  base.latent_as_embedding = false;  // the memory alone, as transformers' cross-attention sees it
  const DecoderConfig c = hf_decoder_config(dir, base);
  const DecoderFamily& f = decoder_family(c.arch, dir);
  f.check(c, dir);
  Decoder dec = f.make(c, VocabSpec{hf_vocab_size(dir), {}}, LatentShape(96, 3));
  const auto warnings = f.load(*dec, io::load(dir + "/model.safetensors"), dir, /*dmlp=*/false);
  for (const auto& w : warnings) qInfo("%s", w.c_str());
  if (!warnings.empty()) throw std::runtime_error("unexpected warnings loading " + dir);
  torch::NoGradGuard g;
  auto p = dec->named_parameters();
  p["linear.weight"].copy_(torch::eye(32));
  p["linear.bias"].zero_();
  p["latent_ff.DenseReluDense.wo.weight"].zero_();
  dec->eval();
  return dec;
}

}  // namespace

class TestT5Decoder : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void matchesTransformers_data() {
    QTest::addColumn<QString>("prefix");
    QTest::addColumn<QString>("folder");
    QTest::newRow("t5 v1.0: relu, tied head") << "v10" << "hf/tiny-t5-decoder";
    QTest::newRow("t5 v1.1: gated-gelu, untied, d_kv x heads != d_model") << "v11" << "hf/tiny-t5-v11";
  }

  // Logits on teacher-forced input within 1e-4, and greedy decoding through the cache (one
  // token a step) the same as transformers' re-run of the whole prefix each step.
  void matchesTransformers() {
    QFETCH(QString, prefix);
    QFETCH(QString, folder);
    const auto ex = expected();
    const std::string p = prefix.toStdString() + "_";
    Decoder dec = t5Decoder(test::fixture(folder.toStdString()));
    c10::InferenceMode guard;
    const auto z = ex.at(p + "memory").reshape({2, 96});
    const auto logits = dec->forward(ex.at(p + "ids"), z);
    const double d = maxDiff(logits, ex.at(p + "logits"));
    QVERIFY2(d < 1e-4, std::to_string(d).c_str());
    KVCache cache = dec->start(z, 8);
    QCOMPARE(cache.cross.size(), size_t(dec->num_blocks()));
    QCOMPARE(cache.cross[0].length, int64_t(3));
    auto next = torch::zeros({2, 1}, torch::kLong);  // decoder_start_token_id
    std::vector<at::Tensor> out = {next};
    for (int t = 0; t < 8; ++t) {
      next = dec->step(cache, next).select(1, 0).argmax(-1, true);
      out.push_back(next);
    }
    QVERIFY(torch::equal(torch::cat(out, 1), ex.at(p + "greedy")));
    // The latent tokens are a set: their order does not change the output.
    const auto swapped = ex.at(p + "memory").index_select(1, torch::tensor({2, 0, 1}, torch::kLong)).reshape({2, 96});
    const double perm = maxDiff(dec->forward(ex.at(p + "ids"), swapped), logits);
    QVERIFY2(perm < 1e-4, std::to_string(perm).c_str());
  }

  // MiniLM-shaped BERT encoder with t5-vae's token pooling + the T5 decoder, imported from
  // the two folders: sequences start from <pad>, the loss trains the latent path, and the
  // model saves, reloads to the same outputs and decodes.
  void importedAsTheDecoderTrainsAndDecodes() {
    Config base = preset("tiny");
    base.model.latent_dim = 24;
    base.model.latent_tokens = 3;
    base.model.encoder.pooling = "tokens";
    base.train.trainable = "latent";
    ImportedModel m = import_hf(test::fixture("dmlp/trained/bert"), test::fixture("hf/tiny-t5-decoder"), base);
    QCOMPARE(QString::fromStdString(m.config.model.decoder.arch), QString("t5"));
    for (const auto& w : m.warnings) qInfo("%s", w.c_str());
    QCOMPARE(m.model->dec_vocab.ids.bos, m.model->dec_vocab.ids.pad);  // T5's decoder_start_token_id
    QVERIFY(VaeDdpmImpl::trainable("decoder.latent_ff.DenseReluDense.wo.weight", "latent", false));
    QVERIFY(!VaeDdpmImpl::trainable("decoder.decoder.block.0.layer.0.SelfAttention.q.weight", "latent", false));

    Generator gen(m.model, m.tokenizers);
    const std::vector<std::string> sentences = {"the cat sat on the mat", "a dog ran"};
    const auto dec = m.tokenizers.decoder->decoder_spec().ids;
    std::vector<std::vector<int>> enc_ids, dec_ids;
    for (const auto& s : sentences) {
      enc_ids.push_back(m.tokenizers.encoder->encode(s));
      dec_ids.push_back(m.tokenizers.decoder->encode(s));
    }
    Batch b{pad_sequences(enc_ids, m.tokenizers.encoder->specials(), true), pad_sequences(dec_ids, dec, true)};
    QCOMPARE(b.dec_ids[0][0].item<int64_t>(), int64_t(dec.pad));
    m.model->train();
    const LossOutput out = m.model->forward(b, at::make_generator<at::CPUGeneratorImpl>(1));
    QVERIFY(std::isfinite(out.loss.item<double>()));
    out.loss.backward();
    QVERIFY(m.model->decoder->named_parameters()["linear.weight"].grad().abs().sum().item<double>() > 0);
    m.model->eval();

    QTemporaryDir dir;
    const std::string path = dir.filePath("t5").toStdString();
    save_model(path, m.config, m.tokenizers, m.model);
    LoadedModel back = load_model(path);
    QCOMPARE(QString::fromStdString(back.config.model.decoder.arch), QString("t5"));
    c10::InferenceMode guard;
    const auto z = torch::randn({2, 24});
    QVERIFY(torch::equal(m.model->decoder->forward(b.dec_ids, z), back.model->decoder->forward(b.dec_ids, z)));
    Generator again(back.model, back.tokenizers);
    QCOMPARE(again.reconstruct(sentences).size(), size_t(2));
  }
};

QTEST_GUILESS_MAIN(TestT5Decoder)
#include "test_t5_decoder.moc"
