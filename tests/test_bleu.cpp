// BLEU against values nltk computed (tests/fixtures/make_fixtures.py, nltk 3.9.1).
#include <cmath>

#include "eval/bleu.h"
#include "eval/word_share.h"
#include "test_util.h"

using namespace latent;

namespace {
// nltk sums logs with math.fsum: agree to 1e-6 absolute (on the x100 scale) and 1e-9 relative.
void expectClose(double ours, double theirs, const std::string& name) {
  const std::string msg = name + ": ours " + std::to_string(ours) + ", nltk " + std::to_string(theirs);
  QVERIFY2(std::fabs(ours - theirs) <= 1e-6, msg.c_str());
  if (theirs > 0.0) QVERIFY2(std::fabs(ours - theirs) / theirs < 1e-9, msg.c_str());
  else QVERIFY2(ours == 0.0, msg.c_str());
}
}  // namespace

class TestBleu : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void corpusBleuMatchesNltk() {
    const auto cases = test::readJson(test::fixture("bleu/corpus_cases.json"));
    QVERIFY(cases.size() >= 10);
    for (const auto& c : cases) {
      const auto refs = c["references"].get<std::vector<std::vector<std::string>>>();
      const auto hyps = c["hypotheses"].get<std::vector<std::string>>();
      const BleuResult r = corpus_bleu(refs, hyps);
      expectClose(100.0 * r.bleu, c["bleu"].get<double>(), c["name"].get<std::string>());
    }
  }

  void selfBleuMatchesNltk() {
    const auto cases = test::readJson(test::fixture("bleu/self_bleu_cases.json"));
    QVERIFY(cases.size() >= 4);
    for (const auto& c : cases)
      expectClose(100.0 * self_bleu(c["sentences"].get<std::vector<std::string>>()), c["self_bleu"].get<double>(),
                  c["name"].get<std::string>());
  }

  void details() {
    const BleuResult r = corpus_bleu(std::vector<std::vector<std::string>>{{"the cat sat on the mat"}},
                                     std::vector<std::string>{"the cat sat on the mat"});
    QCOMPARE(r.bleu, 1.0);
    QCOMPARE(r.hyp_length, 6LL);
    QCOMPARE(r.matches[0], 6LL);
    QCOMPARE(r.totals[3], 3LL);
    QCOMPARE(r.brevity_penalty, 1.0);
    bool threw = false;
    try {
      corpus_bleu(std::vector<std::vector<std::string>>{{"a"}}, std::vector<std::string>{"a", "b"});
    } catch (const std::invalid_argument&) {
      threw = true;
    }
    QVERIFY(threw);
  }

  // The word-share measure of generated sentences (eval's "corpus_words"), by hand.
  void wordShareCountsCorpusWords() {
    QCOMPARE(plain_words("  The President's car, (well-known) -- \"here\"!  "),
             (std::vector<std::string>{"the", "president's", "car", "well-known", "here"}));
    QVERIFY(plain_words(" , -- ").empty());
    const auto vocab = word_vocabulary({"the car is red", "a well-known president's speech"});
    QCOMPARE(vocab.size(), size_t(8));
    // 3 + 2 + 0 words; known: 3 + 1; whole sentences known: the first only ("," has no words).
    const WordShare r = word_share({"The car, red.", "a superriunded", ","}, vocab);
    QCOMPARE(r.n_words, size_t(5));
    QCOMPARE(r.n_sentences, size_t(3));
    QCOMPARE(r.words, 4.0 / 5.0);
    QCOMPARE(r.sentences, 1.0 / 3.0);
    QCOMPARE(word_share({}, vocab).words, 0.0);
  }
};

QTEST_GUILESS_MAIN(TestBleu)
#include "test_bleu.moc"
