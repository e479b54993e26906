// Text commands: train-tokenizer, tokenize, bleu.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "cli/commands.h"
#include "data/corpus.h"
#include "eval/bleu.h"
#include "io/model_dir.h"
#include "text/codec.h"
#include "text/tokenizer.h"
#include "util/atomic_file.h"
#include "util/error.h"

namespace latent::cli {
namespace {

namespace fs = std::filesystem;

// --model accepts a model folder (tokenizer.model, or encoder_tokenizer/ and
// decoder_tokenizer/) or a run folder (its best/ or last/), a tokenizer folder (a
// Hugging Face BERT or GPT-2 folder), or a tokenizer.model file.
Tokenizers load_any_tokenizers(const std::string& path) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) {
    CodecPtr c = sentencepiece_codec(Tokenizer::load(path));
    return {c, c};
  }
  if (has_tokenizers(path)) return load_tokenizers(path);
  if (is_tokenizer_folder(path)) {
    CodecPtr c = load_codec(path);
    return {c, c};
  }
  return load_tokenizers(io::resolve_model_dir(path));  // a run folder, or the error naming what is missing
}

double round2(double v) { return std::round(v * 100.0) / 100.0; }

void add_train_tokenizer(CLI::App& app) {
  auto* cmd = app.add_subcommand("train-tokenizer", "Train a SentencePiece tokenizer on a corpus into DIR/tokenizer.model");
  struct Args {
    std::string corpus, out;
    TokenizerTrainOptions options;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("--corpus", a->corpus, "Corpus file (text or JSONL)")->required();
  cmd->add_option("--out", a->out, "Output folder (created if needed)")->required();
  cmd->add_option("--vocab", a->options.vocab_size, "Vocabulary size (an upper bound for small corpora)")
      ->capture_default_str();
  cmd->add_option("--type", a->options.model_type, "unigram or bpe")
      ->check(CLI::IsMember({"unigram", "bpe"}))->capture_default_str();
  cmd->callback([a] {
    const Corpus corpus = load_corpus(a->corpus);
    std::fprintf(stderr, "corpus: %s\n", corpus.stats.summary().c_str());
    const Tokenizer tok = Tokenizer::train(corpus.sentences, a->options);
    std::error_code ec;
    fs::create_directories(a->out, ec);
    if (ec) throw Error(a->out, "cannot create folder: " + ec.message());
    const std::string path = io::join(a->out, io::files::kTokenizer);
    tok.save(path);
    std::printf("wrote %s (%d pieces)\n", path.c_str(), tok.vocab_size());
  });
}

void add_tokenize(CLI::App& app) {
  auto* cmd = app.add_subcommand("tokenize", "Show the pieces and ids of each TEXT");
  struct Args {
    std::string model;
    std::vector<std::string> texts;
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("--model", a->model, "Model folder, tokenizer folder or tokenizer.model file")->required();
  cmd->add_option("TEXT", a->texts, "Texts to tokenize")->required();
  cmd->add_flag("--json", a->json, "Print one JSON object");
  cmd->callback([a] {
    const Tokenizers toks = load_any_tokenizers(a->model);
    // One tokenizer: its pieces and ids; two (an imported model): each side's.
    std::vector<std::pair<std::string, CodecPtr>> sides;
    if (toks.shared()) sides.emplace_back("", toks.encoder);
    else sides = {{"encoder", toks.encoder}, {"decoder", toks.decoder}};
    nlohmann::json out = nlohmann::json::array();
    for (const auto& text : a->texts) {
      nlohmann::json item = {{"text", text}};
      if (!a->json) std::printf("%s\n", text.c_str());
      for (const auto& [side, tok] : sides) {
        const auto ids = tok->encode(text);
        const auto pieces = tok->pieces(text);
        const nlohmann::json r = {{"pieces", pieces}, {"ids", ids}, {"decoded", tok->decode(ids)}};
        if (side.empty()) item.update(r);
        else item[side] = r;
        if (a->json) continue;
        const std::string label = side.empty() ? "" : side + " ";
        std::printf("  %spieces:", label.c_str());
        for (const auto& p : pieces) std::printf(" %s", p.c_str());
        std::printf("\n  %sids:   ", label.c_str());
        for (int id : ids) std::printf(" %d", id);
        std::printf("\n");
      }
      out.push_back(std::move(item));
    }
    if (a->json) {
      nlohmann::json j = {{"results", out}};
      if (toks.shared()) j["vocab_size"] = toks.encoder->vocab_size();
      else j["vocab_size"] = {{"encoder", toks.encoder->vocab_size()}, {"decoder", toks.decoder->vocab_size()}};
      print_json(j);
    }
  });
}

void add_bleu(CLI::App& app) {
  auto* cmd = app.add_subcommand("bleu", "Corpus BLEU-4 as nltk's corpus_bleu (whitespace tokens, no smoothing), x100");
  struct Args {
    std::vector<std::string> refs;
    std::string hyps;
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("--refs", a->refs, "Reference file, one line per hypothesis; repeat for several references")
      ->required()->take_all();
  cmd->add_option("--hyps", a->hyps, "Hypothesis file, one sentence per line")->required();
  cmd->add_flag("--json", a->json, "Print one JSON object");
  cmd->callback([a] {
    const auto hyps = read_lines(a->hyps);
    std::vector<std::vector<std::string>> refs(hyps.size());
    for (const auto& file : a->refs) {
      const auto lines = read_lines(file);
      if (lines.size() != hyps.size())
        throw Error(file, std::to_string(lines.size()) + " lines, but " + a->hyps + " has " +
                              std::to_string(hyps.size()));
      for (size_t i = 0; i < lines.size(); ++i) refs[i].push_back(lines[i]);
    }
    const BleuResult r = corpus_bleu(refs, hyps);
    double prec[4];
    for (int k = 0; k < 4; ++k) prec[k] = 100.0 * static_cast<double>(r.matches[k]) / static_cast<double>(std::max(1LL, r.totals[k]));
    if (a->json) {
      print_json({{"bleu", round2(100.0 * r.bleu)},
                  {"bleu_exact", 100.0 * r.bleu},
                  {"n", hyps.size()},
                  {"references_per_line", a->refs.size()},
                  {"precisions", {prec[0], prec[1], prec[2], prec[3]}},
                  {"brevity_penalty", r.brevity_penalty},
                  {"hyp_length", r.hyp_length},
                  {"ref_length", r.ref_length}});
      return;
    }
    std::printf("BLEU = %.2f  (n=%zu, precisions %.1f/%.1f/%.1f/%.1f, BP=%.3f, hyp_len=%lld, ref_len=%lld)\n",
                100.0 * r.bleu, hyps.size(), prec[0], prec[1], prec[2], prec[3], r.brevity_penalty, r.hyp_length,
                r.ref_length);
  });
}

}  // namespace

void add_text_commands(CLI::App& app) {
  add_train_tokenizer(app);
  add_tokenize(app);
  add_bleu(app);
}

}  // namespace latent::cli
