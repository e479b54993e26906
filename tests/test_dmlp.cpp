// Our encoder and decoder against DMLP's own classes (PyPI dmlp 1.0.3) on the same weights:
// BertForLatentConnectorAVG's mu (masked mean, BERT pooler, linear, chunk) and
// GPT2ForLatentConnectorNew's logits (extra first block, latent added to the embeddings
// and as a one-slot key/value memory in every block, positions from 1), within 1e-4.
// Fixtures: tests/fixtures/dmlp/make_dmlp_fixtures.py.
#include <torch/torch.h>

#include <QTemporaryDir>
#include <nlohmann/json.hpp>

#include "io/safetensors.h"
#include "model/family.h"
#include "model/hf_import.h"
#include "test_util.h"

using namespace latent;

class TestDmlp : public QObject {
  Q_OBJECT
  std::map<std::string, at::Tensor> want_;

 private Q_SLOTS:
  void initTestCase() {
    for (auto& [k, v] : io::load(test::fixture("dmlp/expected.safetensors"))) want_.emplace(k, v);
  }

  void encoderMuEqualsDmlp() {
    c10::InferenceMode guard;
    EncoderConfig c;
    c.hidden = 32;
    c.layers = 2;
    c.heads = 4;
    c.intermediate = 37;
    c.max_positions = 64;
    c.pooling = "avg";
    c.dropout = 0.0;
    Encoder enc = encoder_family("bert", "test").make(c, VocabSpec{99, {}}, 8);
    QVERIFY(load_dmlp_encoder(*enc, test::fixture("dmlp/encoder.safetensors")).empty());
    enc->eval();
    const auto mu = enc->forward(want_.at("enc_ids")).mu;
    const double d = (mu - want_.at("mu")).abs().max().item<double>();
    QVERIFY2(d < 1e-4, std::to_string(d).c_str());
  }

  void newDecoderLogitsEqualDmlp() {
    c10::InferenceMode guard;
    DecoderConfig c;
    c.hidden = 32;
    c.layers = 2;
    c.heads = 4;
    c.max_positions = 64;
    c.dropout = 0.0;  // extra_first_block, latent as embedding and as memory: the defaults
    Decoder dec = decoder_family("gpt2", "test").make(c, VocabSpec{120, {}}, 8);
    QVERIFY(load_dmlp_decoder(*dec, test::fixture("dmlp/decoder.safetensors")).empty());
    dec->eval();
    const auto logits = dec->forward(want_.at("labels"), want_.at("z"));
    const double d = (logits - want_.at("logits")).abs().max().item<double>();
    QVERIFY2(d < 1e-4, std::to_string(d).c_str());
  }

  // GPT2ModelForVAE (the transformer inside GPT2ForLatentConnector*) saves the same weights
  // without the "transformer." prefix and without the head: they load to the same logits.
  void gpt2ModelForVaeNamesLoadToo() {
    c10::InferenceMode guard;
    io::NamedTensors inner;
    for (auto& [k, v] : io::load(test::fixture("dmlp/decoder.safetensors")))
      if (k.rfind("transformer.", 0) == 0) inner.emplace_back(k.substr(12), v);
    QTemporaryDir tmp;
    const std::string path = tmp.filePath("gpt2_model_for_vae.safetensors").toStdString();
    io::save(path, inner);
    const DecoderClass dc = decoder_class_for_dmlp("GPT2ModelForVAENew", "test");
    DecoderConfig c = merge_decoder_config(dc.family->defaults, nlohmann::json::parse(dc.dmlp->overrides), "test");
    c.hidden = 32;
    c.layers = 2;
    c.heads = 4;
    c.max_positions = 64;
    c.dropout = 0.0;
    Decoder dec = dc.family->make(c, VocabSpec{120, {}}, 8);
    QVERIFY(load_dmlp_decoder(*dec, path).empty());
    dec->eval();
    const double d = (dec->forward(want_.at("labels"), want_.at("z")) - want_.at("logits")).abs().max().item<double>();
    QVERIFY2(d < 1e-4, std::to_string(d).c_str());
  }
};

QTEST_MAIN(TestDmlp)
#include "test_dmlp.moc"
