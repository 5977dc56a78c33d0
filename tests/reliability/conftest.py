"""The lightest shape VAE that trains end to end: 16 px masks, 16-d codes, no LSTM block."""

LIGHT_SHAPEVAE = [
    "--model",
    "shapevae",
    "--gpu_ids",
    "-1",
    "--load_size",
    "16",
    "--crop_size",
    "16",
    "--enc_size",
    "8",
    "--enc_widths",
    "16",
    "--latent_dim",
    "16",
    "--no_lstm",
    "--ngf",
    "4",
    "--nThreads",
    "0",
]
# One epoch of two synthetic masks, nothing evaluated: a whole run in about a second.
ONE_TINY_EPOCH = [
    "--synthetic_size",
    "2",
    "--synthetic_test_size",
    "2",
    "--batchSize",
    "2",
    "--niter",
    "1",
    "--no_synthetic_images",
    "--eval_freq",
    "0",
]
