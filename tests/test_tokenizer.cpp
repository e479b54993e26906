// SentencePiece tokenizer: training on small corpora, fixed special ids, round trips of
// any UTF-8 text, save/load, and clear errors.
#include <QTemporaryDir>

#include "data/corpus.h"
#include "test_util.h"
#include "text/tokenizer.h"

using namespace latent;

namespace {
std::vector<std::string> smallCorpus() {
  return {"the cat sat on the mat", "a dog ran in the park", "the bird sang a song",
          "my friend reads books at night", "we walked to the river", "she plays the piano well",
          "they built a small house", "the sun rises in the east", "he drinks coffee every morning",
          "children laugh in the garden"};
}

const std::vector<std::string> kHardStrings = {
    "the cat sat on the mat",
    "Caf\xC3\xA9 na\xC3\xAFve r\xC3\xA9sum\xC3\xA9 \xC3\x85ngstr\xC3\xB6m",        // accents
    "\xE4\xB8\xAD\xE6\x96\x87\xE5\x8F\xA5\xE5\xAD\x90 \xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E",  // CJK
    "emoji \xF0\x9F\x98\x80\xF0\x9F\x8E\x89 and \xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x92\xBB zwj",
    "numbers 3.14159 and 2026-11-21, punctuation!? (yes) \"quoted\"",
    "\xEF\xBC\xA1\xEF\xBC\xA2 full-width and \xE2\x91\xA0 circled",  // NFKC would change these
    "UPPER lower MiXeD",
};
}  // namespace

class TestTokenizer : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void roundTripsAnyUtf8_data() {
    QTest::addColumn<QString>("type");
    QTest::newRow("unigram") << "unigram";
    QTest::newRow("bpe") << "bpe";
  }
  void roundTripsAnyUtf8() {
    QFETCH(QString, type);
    TokenizerTrainOptions opt;
    opt.model_type = type.toStdString();
    opt.vocab_size = 400;
    const Tokenizer tok = Tokenizer::train(smallCorpus(), opt);
    QVERIFY(tok.vocab_size() > 256 + 4);
    QVERIFY(tok.vocab_size() <= 400);
    QCOMPARE(tok.piece(Tokenizer::kPad), std::string("<pad>"));
    QCOMPARE(tok.piece(Tokenizer::kUnk), std::string("<unk>"));
    QCOMPARE(tok.piece(Tokenizer::kBos), std::string("<s>"));
    QCOMPARE(tok.piece(Tokenizer::kEos), std::string("</s>"));
    for (const auto& s : kHardStrings) {
      const auto ids = tok.encode(s);
      QVERIFY(!ids.empty());
      for (int id : ids) QVERIFY2(id != Tokenizer::kUnk, ("unknown piece in: " + s).c_str());
      QCOMPARE(tok.decode(ids), s);
    }
    // Special ids are dropped when decoding.
    auto ids = tok.encode("the cat");
    ids.insert(ids.begin(), Tokenizer::kBos);
    ids.push_back(Tokenizer::kEos);
    ids.push_back(Tokenizer::kPad);
    QCOMPARE(tok.decode(ids), std::string("the cat"));
  }

  void trainsOnTheDefaultCorpus() {
    const Corpus c = load_corpus(test::corpusFile("valid.txt"));
    TokenizerTrainOptions opt;
    opt.vocab_size = 2000;
    const Tokenizer tok = Tokenizer::train(c.sentences, opt);
    QVERIFY(tok.vocab_size() > 1000);
    size_t tokens = 0, words = 0;
    for (const auto& s : c.sentences) {
      QCOMPARE(tok.decode(tok.encode(s)), s);
      tokens += tok.encode(s).size();
      words += std::count(s.begin(), s.end(), ' ') + 1;
    }
    // Learned pieces, not bytes: well under two pieces per word on its own corpus.
    QVERIFY2(tokens < 2 * words, (std::to_string(tokens) + " tokens for " + std::to_string(words) + " words").c_str());
  }

  void deterministicAndSaveLoad() {
    TokenizerTrainOptions opt;
    opt.vocab_size = 300;
    const Tokenizer a = Tokenizer::train(smallCorpus(), opt);
    const Tokenizer b = Tokenizer::train(smallCorpus(), opt);
    QCOMPARE(a.serialized(), b.serialized());
    QTemporaryDir dir;
    const std::string path = dir.filePath("tokenizer.model").toStdString();
    a.save(path);
    const Tokenizer loaded = Tokenizer::load(path);
    QCOMPARE(loaded.vocab_size(), a.vocab_size());
    for (const auto& s : kHardStrings) QCOMPARE(loaded.encode(s), a.encode(s));
  }

  void clearErrors() {
    TokenizerTrainOptions opt;
    LATENT_VERIFY_CONTAINS(test::errorOf([&] { Tokenizer::train({}, opt); }), "empty corpus");
    opt.vocab_size = 100;
    LATENT_VERIFY_CONTAINS(test::errorOf([&] { Tokenizer::train(smallCorpus(), opt); }), "tokenizer.vocab_size");
    // 300 distinct CJK characters, each as frequent as the others: no coverage fits 300 pieces.
    std::vector<std::string> cjk;
    for (int i = 0; i < 300; ++i) {
      const int cp = 0x4E00 + i;
      cjk.push_back(std::string{char(0xE0 | (cp >> 12)), char(0x80 | ((cp >> 6) & 0x3F)), char(0x80 | (cp & 0x3F))});
    }
    opt.vocab_size = 300;
    LATENT_VERIFY_CONTAINS(test::errorOf([&] { Tokenizer::train(cjk, opt); }), "too small for this corpus");
    // With a larger vocabulary the rare characters fall back to bytes and still round-trip.
    opt.vocab_size = 560;  // room for 299 of the 300 characters: one goes to bytes
    const Tokenizer t = Tokenizer::train(cjk, opt);
    for (const auto& s : cjk) QCOMPARE(t.decode(t.encode(s)), s);
    opt.model_type = "wordpiece";
    LATENT_VERIFY_CONTAINS(test::errorOf([&] { Tokenizer::train(smallCorpus(), opt); }), "model_type");
    QTemporaryDir dir;
    const std::string bad = dir.filePath("tokenizer.model").toStdString();
    test::spit(bad, "this is not a protobuf");
    const std::string err = test::errorOf([&] { Tokenizer::load(bad); });
    LATENT_VERIFY_CONTAINS(err, bad);
    LATENT_VERIFY_CONTAINS(test::errorOf([&] { Tokenizer::load(dir.filePath("missing.model").toStdString()); }),
                           "missing.model");
  }
};

QTEST_GUILESS_MAIN(TestTokenizer)
#include "test_tokenizer.moc"
