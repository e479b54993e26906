// GPT-2's byte-level BPE against transformers' GPT2Tokenizer: the pre-tokenizer regex,
// tokens, ids (with DMLP's added <PAD>, <BOS>, <EOS>) and decoding, on a small BPE that
// tests/fixtures/hf/make_tokenizer_fixtures.py trains with the `tokenizers` package.
#include <QTemporaryDir>

#include "codec_cases.h"
#include "test_util.h"
#include "text/bpe.h"
#include "text/codec.h"

using namespace latent;

namespace {
// GPT-2's bytes_to_unicode() symbols, for vocabularies written by hand.
std::vector<std::string> byteSymbols() {
  std::vector<std::string> out;
  int n = 0;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    const char32_t c = printable ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + n++);
    std::string u8;  // UTF-8 of c (< U+0800)
    if (c < 0x80) u8 += static_cast<char>(c);
    else {
      u8 += static_cast<char>(0xC0 | (c >> 6));
      u8 += static_cast<char>(0x80 | (c & 0x3F));
    }
    out.push_back(u8);
  }
  return out;
}

// A byte-level BPE framed by its special tokens (roberta-bpe, deberta-bpe) against the
// cases its transformers tokenizer wrote: kind, size, special ids (bos_key / eos_key name
// the framing tokens in the fixture), ids and tokens of every case, decoding where
// transformers' clean-up does not apply; saved and loaded back, the same kind and ids.
void checkFramedBpe(const std::string& folder, const std::string& cases, const std::string& kind, const char* bos_key,
                    const char* eos_key, const std::string& masked) {
  const auto fx = test::readJson(test::fixture(cases));
  const CodecPtr c = load_codec(test::fixture(folder));
  QCOMPARE(c->kind(), kind);
  QCOMPARE(c->vocab_size(), fx["vocab_size"].get<int>());
  const SpecialIds ids = c->specials();
  QCOMPARE(ids.bos, fx["special_ids"][bos_key].get<int>());
  QCOMPARE(ids.eos, fx["special_ids"][eos_key].get<int>());
  QCOMPARE(ids.pad, fx["special_ids"]["pad"].get<int>());
  QCOMPARE(ids.unk, fx["special_ids"]["unk"].get<int>());
  QVERIFY(test::checkCodecCases(c, fx["cases"]) > 30);
  for (const auto& k : fx["cases"]) {  // decoding, where transformers' clean-up does not apply
    const std::string text = k["text"];
    if (!text.empty() && text.find_first_of("<[") == std::string::npos && text.find_first_of(" \t\n", 0) != 0 &&
        text.back() != ' ')
      QCOMPARE(c->decode(c->encode(text)), k["decoded"].get<std::string>());
  }
  QTemporaryDir out;
  c->save(out.path().toStdString());
  const CodecPtr back = load_codec(out.path().toStdString());
  QCOMPARE(back->kind(), kind);
  QCOMPARE(back->encode(masked), c->encode(masked));
}
}  // namespace

class TestBpe : public QObject {
  Q_OBJECT
  nlohmann::json fx_;

  ByteLevelBpe tokenizer() {
    ByteLevelBpe t = ByteLevelBpe::load(test::fixture("hf/tiny-gpt2"));
    t.add_special_tokens(fx_["special"].get<std::vector<std::string>>());
    return t;
  }

 private Q_SLOTS:
  void initTestCase() { fx_ = test::readJson(test::fixture("hf/bpe_cases.json")); }

  void preTokenizerMatchesTheRegex() {
    for (const auto& c : fx_["cases"])
      QCOMPARE(ByteLevelBpe::pretokenize(c["text"].get<std::string>()), c["pieces"].get<std::vector<std::string>>());
  }

  void tokensIdsAndDecodingMatchGpt2Tokenizer() {
    const ByteLevelBpe t = tokenizer();
    QCOMPARE(t.vocab_size(), fx_["vocab_size"].get<int>());
    QCOMPARE((std::vector<int>{t.id("<PAD>"), t.id("<BOS>"), t.id("<EOS>")}), fx_["special_ids"].get<std::vector<int>>());
    int n = 0;
    for (const auto& c : fx_["cases"]) {
      const std::string text = c["text"];
      QCOMPARE(t.tokenize(text), c["tokens"].get<std::vector<std::string>>());
      const auto ids = t.encode(text);
      QCOMPARE(ids, c["ids"].get<std::vector<int>>());
      QCOMPARE(t.decode(ids), c["decoded"].get<std::string>());
      ++n;
    }
    QVERIFY(n > 40);
  }

  void anyBytesRoundTrip() {
    const ByteLevelBpe t = tokenizer();
    const std::string s = "caf\xC3\xA9 \xF0\x9F\x99\x82 \xE4\xB8\xAD\xE6\x96\x87 \t\n";
    QCOMPARE(t.decode(t.encode(s)), s);
    QCOMPARE(t.decode(t.encode("<BOS>hi<EOS>"), /*skip_special=*/true), std::string("hi"));
  }

  // GPT2Tokenizer's <|endoftext|> is special: kept whole in text, dropped when decoding
  // with skip_special (the fixture strings include it; tokensIdsAndDecoding checks ids).
  void endOfTextIsSpecial() {
    const ByteLevelBpe t = tokenizer();
    QCOMPARE(t.tokenize("a<|endoftext|>b"), (std::vector<std::string>{"a", "<|endoftext|>", "b"}));
    QCOMPARE(t.decode(t.encode("a<|endoftext|>b"), /*skip_special=*/true), std::string("ab"));
  }

  // save() writes vocab.json, merges.txt (file order) and added_tokens.json that load()
  // reads back to the same tokenizer, added tokens and their ids included.
  void saveLoadsBackTheSameTokenizer() {
    QTemporaryDir tmp;
    const ByteLevelBpe t = tokenizer();
    t.save(tmp.path().toStdString());
    const ByteLevelBpe back = ByteLevelBpe::load(tmp.path().toStdString());
    QCOMPARE(back.vocab_size(), t.vocab_size());
    for (const char* s : {"<PAD>", "<BOS>", "<EOS>", "<|endoftext|>"}) QCOMPARE(back.id(s), t.id(s));
    for (const auto& c : fx_["cases"]) {
      const std::string text = c["text"];
      QCOMPARE(back.encode(text), t.encode(text));
      QCOMPARE(back.decode(back.encode(text), true), t.decode(t.encode(text), true));
    }
    QCOMPARE(test::slurp(tmp.filePath("merges.txt").toStdString()), test::slurp(test::fixture("hf/tiny-gpt2/merges.txt")));
  }

  // A merge listed twice (transformers keeps its last rank) survives save() in file order.
  void repeatedMergeSavesInFileOrder() {
    QTemporaryDir in, out;
    nlohmann::json vocab = {{"ab", 0}, {"bc", 1}, {"abc", 2}};
    for (const auto& sym : byteSymbols()) vocab[sym] = vocab.size();  // "a", "b", "c" among them
    test::spit(in.filePath("vocab.json").toStdString(), vocab.dump());
    const std::string merges = "#version: 0.2\na b\nb c\na b\nab c\n";
    test::spit(in.filePath("merges.txt").toStdString(), merges);
    const ByteLevelBpe t = ByteLevelBpe::load(in.path().toStdString());
    // "a b" ranks 2 (its last line), after "b c" (1): a + bc, and no "a bc" merge. With the
    // first rank (0) it would be ab + c -> abc.
    const std::vector<std::string> want{"a", "bc"};
    QCOMPARE(t.tokenize("abc"), want);
    t.save(out.path().toStdString());
    QCOMPARE(test::slurp(out.filePath("merges.txt").toStdString()), merges);
    QCOMPARE(ByteLevelBpe::load(out.path().toStdString()).tokenize("abc"), want);
  }

  // RoBERTa's tokenizer (the roberta-bpe codec that its encoder family reads) against
  // transformers' RobertaTokenizer: tokens, ids with <s> ... </s>, <mask> swallowing the
  // space before it, decoding; and the codec saved into a model folder loads back as
  // the same kind (tests/fixtures/hf/make_roberta_fixtures.py).
  void robertaCodecMatchesRobertaTokenizer() {
    checkFramedBpe("hf/tiny-roberta", "hf/roberta_cases.json", "roberta-bpe", "bos", "eos", "a <mask> token");
  }

  // DeBERTa v1's tokenizer (deberta-bpe: RoBERTa's byte-level BPE with [CLS] ... [SEP],
  // [PAD], [MASK] swallowing the space before it) against transformers' DebertaTokenizer
  // (tests/fixtures/hf/make_deberta_fixtures.py).
  void debertaCodecMatchesDebertaTokenizer() {
    checkFramedBpe("hf/tiny-deberta", "hf/deberta_cases.json", "deberta-bpe", "cls", "sep", "a [MASK] token");
  }

  void missingFilesAreNamed() {
    QTemporaryDir dir;
    LATENT_VERIFY_CONTAINS(test::errorOf([&] { ByteLevelBpe::load(dir.path().toStdString()); }), "vocab.json");
    test::spit(dir.filePath("vocab.json").toStdString(), "{\"a\": \"x\"}");
    test::spit(dir.filePath("merges.txt").toStdString(), "#version: 0.2\n");
    LATENT_VERIFY_CONTAINS(test::errorOf([&] { ByteLevelBpe::load(dir.path().toStdString()); }), "not an integer");
  }

  // An id read from the file never sizes an allocation beyond what the file holds: a huge
  // id is an error naming the file and the id (it once allocated 13 GB, then std::bad_alloc).
  void hugeIdsAreRefusedBeforeAllocating() {
    QTemporaryDir dir;
    test::spit(dir.filePath("merges.txt").toStdString(), "#version: 0.2\n");
    test::spit(dir.filePath("vocab.json").toStdString(), "{\"a\": 0, \"b\": 1799999999999}");
    const std::string big = test::errorOf([&] { ByteLevelBpe::load(dir.path().toStdString()); });
    LATENT_VERIFY_CONTAINS(big, "vocab.json");
    LATENT_VERIFY_CONTAINS(big, "1799999999999 is not a valid token id");
    test::spit(dir.filePath("vocab.json").toStdString(), "{\"a\": 0, \"b\": 2000000000}");
    LATENT_VERIFY_CONTAINS(test::errorOf([&] { ByteLevelBpe::load(dir.path().toStdString()); }),
                           "id 2000000000 is larger than the vocabulary (2 entries)");
  }

  // Merges that make tokens the vocabulary lacks are refused when loaded, as the tokenizers
  // library refuses them; a byte without its symbol is dropped (no unknown token), never
  // an id outside the vocabulary (fuzzing found encode() returning -1 for a damaged
  // RoBERTa vocab.json).
  void incompleteVocabularies() {
    QTemporaryDir dir;
    nlohmann::json vocab;
    for (const auto& sym : byteSymbols()) vocab[sym] = vocab.size();
    vocab.erase("A");
    test::spit(dir.filePath("vocab.json").toStdString(), vocab.dump());
    test::spit(dir.filePath("merges.txt").toStdString(), "#version: 0.2\n");
    const ByteLevelBpe t = ByteLevelBpe::load(dir.path().toStdString());
    QCOMPARE(t.encode("AbA"), std::vector<int>{vocab["b"].get<int>()});
    test::spit(dir.filePath("merges.txt").toStdString(), "#version: 0.2\nb c\n");
    LATENT_VERIFY_CONTAINS(test::errorOf([&] { ByteLevelBpe::load(dir.path().toStdString()); }),
                           "vocab.json: merge 1 (\"b c\"): \"bc\" is not in the vocabulary");
  }

  // tokenizer.json settings of an unexpected type or kind are refused by name, not with json's exception text.
  void tokenizerJsonPreTokenizerIsChecked() {
    QTemporaryDir dir;
    const std::string path = dir.filePath("tokenizer.json").toStdString();
    auto doc = [](const std::string& pre) {
      return R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "pre_tokenizer": )" + pre + "}";
    };
    test::spit(path, doc(R"({"type": "ByteLevel", "add_prefix_space": "yes"})"));
    LATENT_VERIFY_CONTAINS(test::errorOf([&] { ByteLevelBpe::load(dir.path().toStdString()); }), "tokenizer.json: pre_tokenizer");
    test::spit(path, doc(R"({"type": 7})"));
    LATENT_VERIFY_CONTAINS(test::errorOf([&] { ByteLevelBpe::load(dir.path().toStdString()); }), "only GPT-2's byte-level");
    test::spit(path, doc(R"({"type": "Sequence", "pretokenizers": [{"type": "Digits", "individual_digits": true},
                                                                      {"type": "ByteLevel", "add_prefix_space": false}]})"));
    QVERIFY(ByteLevelBpe::load(dir.path().toStdString()).split_digits());
  }
};

QTEST_MAIN(TestBpe)
#include "test_bpe.moc"
