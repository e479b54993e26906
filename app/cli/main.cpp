// latent-cli: headless access to everything the studio does.
// Exit codes: 0 success, 1 runtime error ("error: ..." on stderr), 2 usage error.
#include <ATen/Parallel.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <thread>

#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "util/atomic_file.h"
#include "util/error.h"
#include "util/runtime_info.h"

namespace latent::cli {

void print_json(const nlohmann::json& j) { std::cout << j.dump() << std::endl; }

}  // namespace latent::cli

int main(int argc, char** argv) {
  CLI::App app{"latent-cli: train, inspect and explore VAE_DDPM text models without the GUI"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "latent-cli 0.1.0, " + latent::runtime_summary());
  latent::cli::add_corpus_commands(app);
  latent::cli::add_text_commands(app);
  latent::cli::add_model_commands(app);
  latent::cli::add_train_commands(app);
  latent::cli::add_infer_commands(app);
  latent::cli::add_bench_commands(app);
  latent::cli::add_import_commands(app);
  latent::cli::add_family_commands(app);
  latent::cli::add_explore_commands(app);
  at::set_num_threads(static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  } catch (const std::exception& e) {
    // latent::Error says where; anything else (out of memory in the middle of a command)
    // is said with the command it stopped.
    std::string what;
    if (!dynamic_cast<const latent::Error*>(&e))
      for (const auto* sub : app.get_subcommands()) what += sub->get_name() + ": ";
    std::fprintf(stderr, "error: %s%s\n", what.c_str(), latent::user_message(e).c_str());
    return 1;
  }
  return 0;
}
