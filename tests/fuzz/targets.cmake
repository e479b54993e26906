# The fuzz targets: one file each in tests/fuzz/. The fuzz preset builds them with
# libFuzzer; the normal test build replays their seeds and regressions (tests/CMakeLists.txt).
set(LATENT_FUZZ_TARGETS
  fuzz_safetensors_index
  fuzz_tokenizer_folder
  fuzz_model_folder
  fuzz_sentencepiece
  fuzz_corpus
  fuzz_metrics_log
)
