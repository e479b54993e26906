// latent-cli subcommands. Each add_* registers its subcommands on the app; a command's
// callback throws latent::Error on runtime failures (main prints "error: ..." and
// exits 1) and CLI::ValidationError on usage errors (exit 2).
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace latent::cli {

void add_corpus_commands(CLI::App& app);
void add_text_commands(CLI::App& app);
void add_model_commands(CLI::App& app);
void add_train_commands(CLI::App& app);
void add_infer_commands(CLI::App& app);
void add_bench_commands(CLI::App& app);
void add_import_commands(CLI::App& app);
void add_family_commands(CLI::App& app);
void add_explore_commands(CLI::App& app);

// One JSON object on stdout, as every --json output is.
void print_json(const nlohmann::json& j);

}  // namespace latent::cli
