"""The evidence page: each claim of the dropout article, and what we measured.

`CLAIMS` ties every claim to the tutorial section that tests it, to the
`FINDINGS` key where that tutorial stores the verdict it computed from its own
numbers ("held", "partly", "did not hold" or "inconclusive"), and to the
numbers worth showing next to it. The docs build (`tools/docs_hooks.py`) runs the
tutorials, reads their `FINDINGS` lines and writes the tables into
`docs/evidence.md` with `fill_page`, so the page shows what that build
measured and cannot drift from it. The guides in `GUIDES` show a claim next
to the advice that rests on it through a placeholder,
`<!-- measured: claim_key -->`, which `fill_measured` replaces in the same
way, with a caveat when the verdict is not "held". A claim whose verdict or
numbers are missing, or a placeholder that names no claim, fails the
build; `tests/test_tutorials.py` checks every verdict in quick mode, and
`tests_browser/` checks the built page against the notebooks' pages.
"""

import dataclasses
import json
import pathlib
import posixpath
import re
import string

PAGE = "evidence.md"
MARKER = "<!-- evidence-tables -->"
VERDICTS = ("held", "partly", "did not hold", "inconclusive")
FINDINGS_LINE = re.compile(r"^FINDINGS (\{.*\})\s*$", re.MULTILINE)


class EvidenceError(ValueError):
    """A claim's verdict or numbers are missing or malformed."""


@dataclasses.dataclass(frozen=True)
class Claim:
    """One claim of the article and where a tutorial measured it.

    Attributes:
        topic: the table the claim goes in.
        text: the claim, in our words.
        notebook: the tutorial's file stem in `tutorials/`.
        anchor: the id of the section that measures it.
        verdict: the `FINDINGS` key holding the verdict.
        measured: a format string over `FINDINGS` (e.g. `"{acc:.1%}"`) that
            shows the numbers the verdict rests on.
        setting: the data and model it was measured on.
    """

    topic: str
    text: str
    notebook: str
    anchor: str
    verdict: str
    measured: str
    setting: str

    def keys(self):
        """The `FINDINGS` keys this claim reads."""
        fields = string.Formatter().parse(self.measured)
        return [self.verdict] + [name for _, name, _, _ in fields if name]


# The order of the page's tables.
TOPICS = (
    "How dropout works",
    "Choosing the rate",
    "Where dropout goes",
    "The variants",
    "Training cost",
    "Batch normalization",
    "Dropout and other regularizers",
    "When not to use dropout",
    "Early and late dropout",
    "The best model",
)
MLP = "MNIST-1D, MLP (40-256-256-10)"
VARIANTS = "MNIST-1D, MLP (40-128-128-10)"
CNN = "MNIST-1D, two Conv1D(16) blocks"
BN = "MNIST-1D, MLP (40-128-128-10)"
DENSE = "MNIST-1D, MLP of width 128"
REGULARIZERS = "MNIST-1D, MLP"
TRANSFORMER = "MNIST-1D (1,000 signals) as 10 tokens, 2-block encoder"
GRID = "MNIST-1D, MLPs of width 16-256"
CLAIMS = [
    # How dropout works
    Claim(
        "How dropout works",
        "Dropout is switched off at inference: the layer passes its input through.",
        "how-dropout-works",
        "training-and-inference",
        "claim_off_at_inference",
        "inference output identical to the input (1 = yes): {inference_is_identity}",
        "one layer",
    ),
    Claim(
        "How dropout works",
        "Inverted scaling (1/(1-p) in training) and classic scaling (1-p at "
        "inference; the article says p) give the same network.",
        "how-dropout-works",
        "inverted-and-classic-scaling",
        "claim_inverted_equals_classic",
        "test accuracy inverted {inverted_test_acc:.1%} ± "
        "{inverted_test_acc_std:.1%}, classic {classic_test_acc:.1%} ± "
        "{classic_test_acc_std:.1%}",
        MLP,
    ),
    Claim(
        "How dropout works",
        "The full network approximates the average of its thinned networks.",
        "how-dropout-works",
        "thinned-networks-and-ensembles",
        "claim_full_net_averages_thinned",
        "weight scaling {weight_scaling_acc:.1%}, MC average of 100 passes "
        "{mc100_acc:.1%}",
        MLP,
    ),
    Claim(
        "How dropout works",
        "Dropout gives an ensemble effect at a fraction of the cost.",
        "how-dropout-works",
        "thinned-networks-and-ensembles",
        "claim_ensemble_effect",
        "one dropout network {weight_scaling_acc:.1%}, five plain networks "
        "averaged {ensemble5_acc:.1%}, one plain {plain_acc:.1%}",
        MLP,
    ),
    Claim(
        "How dropout works",
        "A network trained with dropout degrades gracefully when units fail.",
        "how-dropout-works",
        "robustness",
        "claim_graceful_degradation",
        "accuracy lost with 50% of layer-2 units silenced: "
        "{robustness_drop_acc_at_50pct_dropout_model:.1%} with dropout, "
        "{robustness_drop_acc_at_50pct_plain_model:.1%} without; layer 1: "
        "{robustness_drop_acc_at_50pct_layer1_dropout_model:.1%} and "
        "{robustness_drop_acc_at_50pct_layer1_plain_model:.1%}",
        MLP,
    ),
    Claim(
        "How dropout works",
        "Dropout reduces co-adaptation between units.",
        "how-dropout-works",
        "co-adaptation",
        "claim_less_coadaptation",
        "mean absolute correlation of hidden units {mean_abs_corr_dropout:.3f} "
        "with dropout, {mean_abs_corr_plain:.3f} without",
        MLP,
    ),
    # Choosing the rate
    Claim(
        "Choosing the rate",
        "Input layers: rates of 0.1-0.2 are typical.",
        "choosing-the-rate",
        "the-grid-input-rate-hidden-rate",
        "claim_input_rate_0_1_0_2",
        "best input rate on validation {best_input_rate}; each input rate vs "
        "none: {input_rate_verdicts}",
        GRID,
    ),
    Claim(
        "Choosing the rate",
        "Hidden layers: rates of 0.2-0.5 are standard.",
        "choosing-the-rate",
        "the-grid-input-rate-hidden-rate",
        "claim_hidden_rate_0_2_0_5",
        "best hidden rate {best_hidden_rate} (width 128), {large_net_best_rate} "
        "(width {large_width})",
        GRID,
    ),
    Claim(
        "Choosing the rate",
        "0.5 is the best rate for hidden units.",
        "choosing-the-rate",
        "the-usual-recommendations-next-to-our-measurements",
        "claim_hidden_0_5_optimal",
        "hidden rate 0.5: {acc_hidden_0_5:.1%}, best cell {best_grid_acc:.1%} "
        "({hidden_0_5_vs_best})",
        GRID,
    ),
    Claim(
        "Choosing the rate",
        "Rates set too high underfit.",
        "choosing-the-rate",
        "where-underfitting-starts",
        "claim_high_rates_underfit",
        "first rate below no dropout: {underfit_rate}; at 0.9 train "
        "{train_acc_hidden_0_9:.1%}, test {acc_hidden_0_9:.1%}",
        GRID,
    ),
    # Training cost
    Claim(
        "Training cost",
        "A network with dropout needs 2-3x the epochs of the same network "
        "without it to reach comparable performance.",
        "what-dropout-costs",
        "how-many-more-epochs",
        "claim_epochs_2_3x",
        "epochs to 98% of own best: {epochs_to_98_dropout:.0f} with dropout, "
        "{epochs_to_98_plain:.0f} without ({epochs_ratio_98:.2f}x)",
        MLP,
    ),
    Claim(
        "Training cost",
        "Dropout adds noise to the gradient estimates.",
        "what-dropout-costs",
        "gradient-noise",
        "claim_more_gradient_noise",
        "gradient variance with / without dropout: {grad_var_ratio_b8:.1f}x at "
        "batch 8, {grad_var_ratio_b32:.1f}x at batch 32",
        MLP,
    ),
    Claim(
        "Training cost",
        "With small batches, dropout's noise makes training unstable.",
        "what-dropout-costs",
        "stability-at-small-batch-sizes",
        "claim_small_batch",
        "validation-loss roughness at batch {smallest_batch}: "
        "{roughness_dropout_smallest:.3f} with dropout, {roughness_plain_smallest:.3f} "
        "without",
        MLP,
    ),
    # Recurrent networks
    Claim(
        "Where dropout goes",
        "In recurrent networks, one mask for every timestep (variational, "
        "time-locked) works better than a new mask per timestep.",
        "recurrent-networks",
        "locked-versus-naive-masks",
        "claim_time_locked_over_naive_rnn",
        "test accuracy locked {acc_variational:.1%} ± {acc_variational_std:.1%}, "
        "naive {acc_naive:.1%} ± {acc_naive_std:.1%}, none {acc_none:.1%}",
        "MNIST-1D as 20 steps, Conv1D + GRU(32)",
    ),
    Claim(
        "Training cost",
        "Dropout on the recurrent state (Keras's recurrent_dropout) costs "
        "training time.",
        "recurrent-networks",
        "the-cost-of-recurrent-dropout",
        "claim_recurrent_dropout_cost",
        "time per epoch {recurrent_dropout_time_ratio:.2f}x no dropout (run-to-run "
        "spread {same_model_time_spread:.2f}x)",
        "MNIST-1D as 20 steps, Conv1D + GRU(32)",
    ),
    Claim(
        "Training cost",
        "Dropping recurrent weights (DropConnect, AWD-LSTM's weight drop) costs "
        "more than dropping activations.",
        "recurrent-networks",
        "zoneout-and-weight-drop",
        "claim_dropconnect_cost",
        "time per epoch {weight_drop_time_ratio:.2f}x no dropout (run-to-run spread "
        "{same_model_time_spread:.2f}x)",
        "MNIST-1D as 20 steps, Conv1D + GRU(32)",
    ),
    # Putting it together
    Claim(
        "The best model",
        "A regularized CNN built with the pack beats the MNIST-1D paper's CNN "
        "(94%) on the same split.",
        "putting-it-together",
        "next-to-the-papers-table",
        "claim_beats_paper_cnn",
        "test accuracy {best_test_acc:.1%} ± {best_test_acc_std:.1%}; our "
        "logistic regression {logistic_acc:.1%} (paper 32%)",
        "MNIST-1D, Conv1D + BN + shifts",
    ),
    Claim(
        "The best model",
        "Dropout helps even a strong, already regularized model.",
        "putting-it-together",
        "does-dropout-help-the-best-model",
        "claim_dropout_helps_best_model",
        "test accuracy with dropout {best_test_acc:.1%} ± {best_test_acc_std:.1%}, "
        "without {no_dropout_test_acc:.1%} ± {no_dropout_test_acc_std:.1%}",
        "MNIST-1D, Conv1D + BN + shifts",
    ),
    # The variants
    Claim(
        "The variants",
        "DropConnect (dropping weights) regularizes more strongly than dropout "
        "but costs more compute.",
        "the-variants",
        "dropconnect-versus-dropout",
        "claim_dropconnect_vs_dropout",
        "test accuracy at rate 0.5: DropConnect {dropconnect_0_5_acc:.1%}, "
        "dropout {dropout_0_5_acc:.1%}; at 0.2: {dropconnect_0_2_acc:.1%} and "
        "{dropout_0_2_acc:.1%}; time per epoch {dropconnect_cost_ratio:.2f}x",
        VARIANTS,
    ),
    Claim(
        "The variants",
        "Concrete dropout learns a good rate, with no manual tuning.",
        "the-variants",
        "concrete-dropout-learns-its-rate",
        "claim_concrete_learns_rate",
        "from rate 0.1: {concrete_from_0_1_acc:.1%}, from 0.5: "
        "{concrete_from_0_5_acc:.1%}; best hand-tuned rate {best_hand_rate}: "
        "{best_hand_acc:.1%} ± {best_hand_acc_std:.1%}",
        VARIANTS,
    ),
    Claim(
        "The variants",
        "Alpha dropout keeps a SELU network's activations at mean 0 and "
        "variance 1; standard dropout does not.",
        "the-variants",
        "alpha-dropout-in-a-selu-network",
        "claim_alpha_dropout_keeps_selu_stats",
        "variance at layer 20 (rate 0.1): AlphaDropout "
        "{selu_alpha_0_1_layer20_var:.2f}, Dropout {selu_dropout_0_1_layer20_var:.2f}, "
        "none {selu_none_layer20_var:.2f}",
        "20 SELU layers, no training",
    ),
    Claim(
        "The variants",
        "Gaussian dropout performs like Bernoulli dropout at the same rate.",
        "the-variants",
        "gaussian-versus-bernoulli-dropout",
        "claim_gaussian_matches_bernoulli",
        "test accuracy at rate 0.2: Gaussian {gaussian_0_2_acc:.1%}, Bernoulli "
        "{dropout_0_2_acc:.1%}; at 0.5: {gaussian_0_5_acc:.1%} and "
        "{dropout_0_5_acc:.1%}",
        VARIANTS,
    ),
    # Transformers
    Claim(
        "Where dropout goes",
        "In transformers, dropout rates of 0.1-0.3 are typical and help.",
        "transformers",
        "the-rate-for-dropout-after-attention-and-ffn",
        "claim_transformer_rate_0_1_0_3",
        "test accuracy none {acc_no_dropout:.1%} ± {acc_no_dropout_std:.1%}; "
        "0.1: {acc_after_sublayers_0_1:.1%}, 0.2: {acc_after_sublayers_0_2:.1%}, "
        "0.3: {acc_after_sublayers_0_3:.1%}",
        TRANSFORMER,
    ),
    Claim(
        "Where dropout goes",
        "0.1 is a sensible default rate for transformers.",
        "transformers",
        "the-rate-for-dropout-after-attention-and-ffn",
        "claim_transformer_default_0_1",
        "best rate {best_rate}; 0.1: {acc_after_sublayers_0_1:.1%} ± "
        "{acc_after_sublayers_0_1_std:.1%}, none {acc_no_dropout:.1%}",
        TRANSFORMER,
    ),
    Claim(
        "Where dropout goes",
        "In transformers, dropout goes after the attention and after each "
        "feed-forward block.",
        "transformers",
        "where-to-put-dropout",
        "claim_dropout_after_attention_and_ffn",
        "at rate 0.2: after the sub-layers {acc_after_sublayers_0_2:.1%}, on "
        "attention weights {acc_attention_weights_0_2:.1%}, inside the FFN "
        "{acc_inside_ffn_0_2:.1%}, DropPath {acc_droppath_0_2:.1%}; none "
        "{acc_no_dropout:.1%}",
        TRANSFORMER,
    ),
    Claim(
        "Where dropout goes",
        "In attention, dropping keys before the softmax (DropKey) regularizes "
        "better than dropout on the attention weights (Li et al., 2023).",
        "transformers",
        "dropkey",
        "claim_dropkey_over_attention_weights",
        "test accuracy at rate 0.2: DropKey {acc_dropkey_0_2:.1%} ± "
        "{acc_dropkey_0_2_std:.1%}, attention weights "
        "{acc_attention_weights_0_2:.1%} ± {acc_attention_weights_0_2_std:.1%}; "
        "none {acc_no_dropout:.1%}",
        TRANSFORMER,
    ),
    # Convolutional networks
    Claim(
        "Where dropout goes",
        "For convolutional layers, spatial dropout (whole feature maps) is "
        "better suited than standard dropout.",
        "convolutional-networks",
        "spatial-vs-standard-dropout",
        "claim_spatial_over_standard_conv",
        "test accuracy at 0.1: spatial {spatial_0_1:.1%} ± {spatial_0_1_std:.1%}, "
        "standard {standard_0_1:.1%} ± {standard_0_1_std:.1%}; at 0.25: "
        "{spatial_0_25:.1%} and {standard_0_25:.1%}",
        CNN,
    ),
    Claim(
        "Where dropout goes",
        "DropBlock (contiguous regions) improves on spatial dropout for "
        "convolutional layers.",
        "convolutional-networks",
        "dropblock-vs-spatial-dropout",
        "claim_dropblock_over_spatial",
        "test accuracy at 0.1: DropBlock {dropblock_0_1:.1%}, spatial "
        "{spatial_0_1:.1%}; at 0.25: {dropblock_0_25:.1%} and {spatial_0_25:.1%}",
        CNN,
    ),
    Claim(
        "Choosing the rate",
        "For convolutional layers, 0.1-0.25 is common; higher rates hurt.",
        "convolutional-networks",
        "rates-for-conv-layers",
        "claim_conv_rate_0_1_0_25",
        "at 0.5: standard {standard_0_5:.1%}, spatial {spatial_0_5:.1%}, "
        "DropBlock {dropblock_0_5:.1%}; no dropout {no_dropout:.1%}",
        CNN,
    ),
    Claim(
        "Where dropout goes",
        "Dropout is most commonly put on the fully connected layers (in a "
        "CNN, its dense head), the part with the most parameters; standard "
        "dropout is less common in the convolutional layers.",
        "convolutional-networks",
        "conv-blocks-or-head-before-or-after-pooling",
        "claim_cnn_dropout_in_head",
        "test accuracy: head 0.1 {cnn_head_0_1:.1%}, head 0.5 {cnn_head_0_5:.1%}, "
        "conv blocks 0.1 before pooling {cnn_before_pool_0_1:.1%} (after "
        "pooling {cnn_after_pool_0_1:.1%}); none {cnn_head_none:.1%}",
        CNN + " and a Dense(64) head",
    ),
    Claim(
        "Batch normalization",
        "Convolutional networks with batch normalization need less dropout, or none.",
        "convolutional-networks",
        "batch-normalization-and-dropout",
        "claim_bn_conv_needs_less_dropout",
        "best gain from dropout at 0.1: {best_gain_no_bn:+.1%} without BN, "
        "{best_gain_bn:+.1%} with BN (BN, no dropout: {bn_no_dropout:.1%})",
        CNN,
    ),
    # Batch normalization
    Claim(
        "Batch normalization",
        "Dropout before batch normalization shifts the variance BN sees between "
        "training and inference.",
        "batch-normalization",
        "the-variance-shift",
        "claim_variance_shift_exists",
        "moving variance / inference variance of the BN after dropout 0.5: "
        "{shift_dropout_bn_50:.2f} (predicted {shift_predicted_50:.2f}; BN without "
        "dropout {shift_bn_only:.2f})",
        BN,
    ),
    Claim(
        "Batch normalization",
        "Combining batch normalization and dropout can be worse than either alone.",
        "batch-normalization",
        "worse-than-either-alone",
        "claim_bn_dropout_worse_than_either",
        "test accuracy at rate 0.5: dropout then BN {acc_dropout_bn:.1%}, BN "
        "alone {acc_bn:.1%}, dropout alone {acc_dropout:.1%}, none {acc_none:.1%}",
        BN,
    ),
    Claim(
        "Batch normalization",
        "Dropout after batch normalization works better than before it.",
        "batch-normalization",
        "dropout-after-bn-rather-than-before",
        "claim_dropout_after_bn_better",
        "test accuracy at rate 0.5: BN then dropout {acc_bn_dropout:.1%} ± "
        "{acc_bn_dropout_std:.1%}, dropout then BN {acc_dropout_bn:.1%} ± "
        "{acc_dropout_bn_std:.1%}",
        BN,
    ),
    Claim(
        "Batch normalization",
        "Networks with batch normalization need less dropout, or none.",
        "batch-normalization",
        "does-bn-need-less-dropout",
        "claim_bn_needs_less_dropout",
        "best rate on validation {best_rate_no_bn} without BN, {best_rate_bn} "
        "with; validation gain from dropout {val_gain_no_bn:+.1%} without BN, "
        "{val_gain_bn:+.1%} with",
        BN,
    ),
    # Dense networks
    Claim(
        "Where dropout goes",
        "In dense networks, dropout goes after each hidden layer, not after the "
        "output.",
        "dense-networks",
        "where-dropout-goes",
        "claim_after_hidden_not_output",
        "test accuracy after hidden layers {acc_after_hidden:.1%} ± "
        "{acc_after_hidden_std:.1%}, none {acc_none:.1%} ± {acc_none_std:.1%}; "
        "train-test gap {gap_after_hidden:.2f} vs {gap_none:.2f}",
        DENSE,
    ),
    Claim(
        "Where dropout goes",
        "Dropout on the logits (the output layer's inputs to softmax) hurts.",
        "dense-networks",
        "where-dropout-goes",
        "claim_logit_dropout_hurts",
        "adding logit dropout: {logits_added_diff:+.1%} ± {logits_added_se:.1%}; "
        "logits only {acc_logits_only:.1%} vs none {acc_none:.1%}",
        DENSE,
    ),
    Claim(
        "Where dropout goes",
        "Dropout is strongest in large fully connected layers.",
        "dense-networks",
        "dropout-gains-more-in-wider-layers",
        "claim_strongest_in_wide_layers",
        "gain from dropout by width: 16: {gain_w16:+.1%}, 64: {gain_w64:+.1%}, "
        "128: {gain_w128:+.1%}, 256: {gain_w256:+.1%}",
        "MNIST-1D, MLPs of width 16-256",
    ),
    Claim(
        "Choosing the rate",
        "Before the output layer, rates of 0.3-0.5 are common, especially in "
        "large networks.",
        "dense-networks",
        "the-rate-before-the-output-layer",
        "claim_final_layer_rate_0_3_0_5",
        "best rate on validation {final_best_rate}; vs no dropout: "
        "{final_best_vs_none}",
        "MNIST-1D, MLP of width 256",
    ),
    # When not to use dropout
    Claim(
        "When not to use dropout",
        "Small models with limited capacity get worse with dropout.",
        "when-not-to-use-dropout",
        "a-model-too-small-to-overfit",
        "claim_small_models_underfit",
        "width {small_width}: test {small_acc_none:.1%} without dropout, "
        "{small_acc_r0_5:.1%} at 0.5 (train {small_train_none:.1%} and "
        "{small_train_r0_5:.1%})",
        "MNIST-1D, MLP of width 8",
    ),
    Claim(
        "When not to use dropout",
        "Dropout cannot make up for too little data.",
        "when-not-to-use-dropout",
        "too-little-data",
        "claim_cannot_replace_data",
        "250 signals: {data_acc_dropout_250:.1%} with dropout, "
        "{data_acc_none_250:.1%} without; 3500 without: {data_acc_none_3500:.1%}",
        "MNIST-1D subsets, MLP of width 128",
    ),
    Claim(
        "When not to use dropout",
        "With noisy labels, dropout slows overfitting but cannot fix the data.",
        "when-not-to-use-dropout",
        "noisy-labels",
        "claim_noisy_labels_slows_not_fixes",
        "40% wrong labels: training labels fitted {noise_40_memorised_none:.0%} "
        "without dropout, {noise_40_memorised_dropout:.0%} with; peak test "
        "{noise_40_peak_none:.1%} and {noise_40_peak_dropout:.1%}",
        "MNIST-1D with flipped labels, MLP",
    ),
    # Other regularizers
    Claim(
        "Dropout and other regularizers",
        "Dropout and L2 regularization combine: together they do better than "
        "either alone.",
        "other-regularizers",
        "dropout-and-l2-together",
        "claim_dropout_l2_complementary",
        "test accuracy dropout + L2 {mlp_dropout_l2_acc:.1%}, dropout "
        "{mlp_dropout_acc:.1%}, L2 {mlp_l2_acc:.1%}, none {mlp_none_acc:.1%}",
        REGULARIZERS,
    ),
    Claim(
        "Dropout and other regularizers",
        "L1 regularization drives weights to zero (sparsity).",
        "other-regularizers",
        "l1-and-sparsity",
        "claim_l1_sparsity",
        "near-zero weights: L1 {mlp_l1_near_zero_frac:.0%}, L2 "
        "{mlp_l2_near_zero_frac:.0%}, none {mlp_none_near_zero_frac:.0%}",
        REGULARIZERS,
    ),
    Claim(
        "Dropout and other regularizers",
        "For convolutional networks, batch normalization plus augmentation is "
        "often enough without dropout.",
        "other-regularizers",
        "batch-normalization-and-augmentation-in-the-cnn",
        "claim_bn_aug_enough_for_conv",
        "CNN test accuracy BN + augmentation {cnn_bn_aug_acc:.1%}, with dropout "
        "too {cnn_bn_aug_dropout_acc:.1%}",
        "MNIST-1D, small Conv1D network",
    ),
    Claim(
        "Dropout and other regularizers",
        "Data augmentation is often used alongside dropout, and the two add up.",
        "other-regularizers",
        "augmentation-with-dropout",
        "claim_augmentation_with_dropout",
        "MLP test accuracy dropout + augmentation {mlp_dropout_aug_acc:.1%}, "
        "dropout {mlp_dropout_acc:.1%}, augmentation {mlp_aug_acc:.1%}",
        REGULARIZERS,
    ),
    Claim(
        "Dropout and other regularizers",
        "Early stopping limits overfitting by stopping when validation "
        "performance degrades.",
        "other-regularizers",
        "early-stopping",
        "claim_early_stopping",
        "stopped after {mlp_early_stop_epochs:.0f} epochs on average: test "
        "{mlp_early_stop_acc:.1%}, none for all 40 epochs {mlp_long_acc:.1%}; "
        "gap {mlp_early_stop_gap:.2f} vs {mlp_long_gap:.2f}",
        REGULARIZERS,
    ),
    # Early and late dropout (Liu et al., 2023)
    Claim(
        "Early and late dropout",
        "Early dropout (dropout for the first iterations only) lowers the final "
        "training loss of a model that underfits (Liu et al., 2023).",
        "early-and-late-dropout",
        "early-dropout-on-a-model-that-underfits",
        "claim_early_dropout_lowers_train_loss",
        "final training loss: early dropout {under_early_train_loss:.4f}, none "
        "{under_no_train_loss:.4f}, standard dropout {under_standard_train_loss:.4f}",
        "MNIST-1D (8,000 signals), MLP (40-16-16-10)",
    ),
    Claim(
        "Early and late dropout",
        "Early dropout improves the test accuracy of a model that underfits "
        "(Liu et al., 2023).",
        "early-and-late-dropout",
        "early-dropout-on-a-model-that-underfits",
        "claim_early_dropout_raises_test_acc",
        "test accuracy: early dropout {under_early_acc:.1%} ± "
        "{under_early_acc_std:.1%}, none {under_no_acc:.1%} ± {under_no_acc_std:.1%}, "
        "standard dropout {under_standard_acc:.1%}",
        "MNIST-1D (8,000 signals), MLP (40-16-16-10)",
    ),
    Claim(
        "Early and late dropout",
        "Late dropout (switched on halfway through training) improves the test "
        "accuracy of a model that overfits (Liu et al., 2023).",
        "early-and-late-dropout",
        "late-dropout-on-a-model-that-overfits",
        "claim_late_dropout_improves_test_acc",
        "test accuracy: late dropout {over_late_acc:.1%} ± {over_late_acc_std:.1%}, "
        "none {over_no_acc:.1%} ± {over_no_acc_std:.1%}, standard dropout "
        "{over_standard_acc:.1%}",
        "MNIST-1D (1,000 signals), MLP (40-256-256-10)",
    ),
]


def findings_in_notebook(notebook):
    """The `FINDINGS` dict an executed notebook printed, or None if none.

    Args:
        notebook: the notebook as a dict (or `nbformat` node), or its path.
    """
    if isinstance(notebook, (str, pathlib.Path)):
        notebook = json.loads(pathlib.Path(notebook).read_text())
    found = None
    for cell in notebook["cells"]:
        # A kernel may flush one print in pieces, as separate stream outputs.
        pieces = [output.get("text", "") for output in cell.get("outputs", [])]
        text = "".join("".join(p) if isinstance(p, list) else p for p in pieces)
        for match in FINDINGS_LINE.finditer(text):
            found = json.loads(match.group(1))
    return found


def check(claim, findings):
    """Raises `EvidenceError` unless `findings` holds what `claim` needs."""
    if findings is None:
        raise EvidenceError(
            f"Tutorial {claim.notebook!r} printed no FINDINGS line; the claim "
            f"{claim.verdict!r} needs it."
        )
    missing = [key for key in claim.keys() if key not in findings]
    if missing:
        raise EvidenceError(
            f"Tutorial {claim.notebook!r} has no FINDINGS key {missing} for "
            f"the claim {claim.verdict!r}."
        )
    if findings[claim.verdict] not in VERDICTS:
        raise EvidenceError(
            f"Invalid verdict in tutorial {claim.notebook!r}: expected one of "
            f"{VERDICTS}. Received: {claim.verdict}={findings[claim.verdict]!r}"
        )


def _row(claim, findings):
    check(claim, findings)
    verdict = findings[claim.verdict]
    link = f"[{claim.notebook}](../tutorials/{claim.notebook}/#{claim.anchor})"
    measured = claim.measured.format_map(findings)
    return (
        f'| {claim.text} | <span class="verdict" data-notebook="{claim.notebook}" '
        f'data-claim="{claim.verdict}" data-verdict="{verdict.replace(" ", "-")}">'
        f"{verdict}</span> | {measured} | "
        f"{claim.setting} | {link} |"
    )


def render(findings_by_notebook, claims=CLAIMS):
    """The evidence tables, as Markdown, from each notebook's `FINDINGS`."""
    counts = dict.fromkeys(VERDICTS, 0)
    sections = {}
    for claim in claims:
        findings = findings_by_notebook.get(claim.notebook)
        sections.setdefault(claim.topic, []).append(_row(claim, findings))
        counts[findings[claim.verdict]] += 1
    summary = ", ".join(f"{n} {verdict}" for verdict, n in counts.items())
    lines = [f"**{len(claims)} claims measured:** {summary}.", ""]
    order = [t for t in TOPICS if t in sections]
    order += [t for t in sections if t not in TOPICS]
    for topic in order:
        rows = sections[topic]
        lines += [
            f"## {topic}",
            "",
            "| Claim | Verdict | What we measured | On | Where |",
            "|---|---|---|---|---|",
            *rows,
            "",
        ]
    return "\n".join(lines)


def fill_page(markdown, findings_by_notebook, claims=CLAIMS):
    """`markdown` with its marker replaced by the evidence tables."""
    if MARKER not in markdown:
        raise EvidenceError(f"{PAGE} lost its marker {MARKER}.")
    return markdown.replace(MARKER, render(findings_by_notebook, claims))


# The guides that show, next to their advice, what the tutorials measured.
# Two placeholders name a claim by its `FINDINGS` key (`claim_key`, or
# `notebook/claim_key` for a key that two tutorials measure), and the docs
# build replaces them (`fill_measured`), so a guide never hard-codes a result:
# `<!-- measured: claim_key -->` becomes the claim, its verdict, its numbers
# and a link (for a list under the advice); `<!-- measured-verdict: claim_key -->`
# becomes the verdict alone, linked to the tutorial's section (for a table).
GUIDES = ("guides/choosing.md",)
PLACEHOLDER = re.compile(r"<!--\s*measured(-verdict)?(.*?)-->", re.DOTALL)
_PLACEHOLDER_KEY = re.compile(r":\s*(?:([\w-]+)/)?(claim_\w+)\s*")
# What follows a verdict other than "held" in the long form: the advice next
# to a placeholder rests on its claim, so the reader is told when this build's
# measurement did not back it (the guide's own words never say whether it did).
CAVEATS = {
    "held": "",
    "partly": " **It held only in part here**; the tutorial says which part.",
    "did not hold": (
        " **Our measurement contradicts this**, so check the advice that rests "
        "on it on your own model and data."
    ),
    "inconclusive": (
        " **Our measurement could not confirm this** (the differences stayed "
        "within the spread over seeds), so check the advice that rests on it on "
        "your own model and data."
    ),
}


def find_claim(key, claims=CLAIMS):
    """The claim a placeholder names, as `claim_key` or `notebook/claim_key`.

    Raises `EvidenceError` if no claim has that key, or if two tutorials
    measure it and `key` does not say which.
    """
    notebook, _, verdict = key.rpartition("/")
    found = [c for c in claims if c.verdict == verdict and notebook in ("", c.notebook)]
    if not found:
        raise EvidenceError(
            f"Unknown claim {key!r}: no claim in tools/evidence.py CLAIMS has "
            "that notebook and FINDINGS key."
        )
    if len(found) > 1:
        names = ", ".join(f"{c.notebook}/{c.verdict}" for c in found)
        raise EvidenceError(
            f"Ambiguous claim {key!r}: {len(found)} tutorials measure it; name "
            f"one of {names}."
        )
    return found[0]


def _verdict_span(claim, verdict):
    return (
        f'<span class="verdict" data-notebook="{claim.notebook}" '
        f'data-claim="{claim.verdict}" data-verdict="{verdict.replace(" ", "-")}">'
        f"{verdict}</span>"
    )


def measured(claim, findings, tutorials="../tutorials", short=False):
    """What a tutorial measured for `claim`, as one line of Markdown.

    Args:
        claim: a `Claim`.
        findings: the `FINDINGS` of the claim's notebook (None if it printed
            none: that raises `EvidenceError`, as a missing key does).
        tutorials: the path from the page to `tutorials/`; links go to the
            notebook file, which MkDocs resolves and checks.
        short: if `True`, only the verdict, linked to the tutorial's section.

    Returns:
        The claim, its verdict (a `<span class="verdict">`, as on the
        evidence page), the numbers, the setting with a link to the
        tutorial's section, then `CAVEATS[verdict]`, which tells a reader
        when the measurement did not back the claim.
    """
    check(claim, findings)
    verdict = findings[claim.verdict]
    link = f"{tutorials}/{claim.notebook}.ipynb#{claim.anchor}"
    if short:
        return f"[{_verdict_span(claim, verdict)}]({link})"
    numbers = claim.measured.format_map(findings)
    title = claim.notebook.replace("-", " ").capitalize()
    return (
        f"*{claim.text}* Verdict: {_verdict_span(claim, verdict)}. "
        f"{numbers[:1].upper()}{numbers[1:]}. Measured on {claim.setting}, in "
        f"[{title}]({link}).{CAVEATS[verdict]}"
    )


def fill_measured(markdown, findings_by_notebook, page=GUIDES[0], claims=CLAIMS):
    """`markdown` with each `<!-- measured... -->` placeholder filled in.

    Args:
        markdown: the page's Markdown.
        findings_by_notebook: each notebook's `FINDINGS`, by file stem.
        page: the page's path under `docs/`, for the links and the messages.
        claims: the claims a placeholder may name.

    Raises:
        EvidenceError: the page has no placeholder, a placeholder is
            malformed or names no claim (or an ambiguous one), or a claim's
            verdict or numbers are missing.
    """
    tutorials = posixpath.relpath("tutorials", posixpath.dirname(page) or ".")

    def fill(match):
        short, body = match.groups()
        key = _PLACEHOLDER_KEY.fullmatch(body)
        if key is None:
            raise EvidenceError(
                f"Malformed placeholder in {page}: {match.group()!r}. Expected "
                "<!-- measured: claim_key --> or <!-- measured-verdict: "
                "claim_key -->, with notebook/claim_key for a key two "
                "tutorials measure."
            )
        notebook, verdict = key.groups()
        claim = find_claim(f"{notebook}/{verdict}" if notebook else verdict, claims)
        findings = findings_by_notebook.get(claim.notebook)
        return measured(claim, findings, tutorials, short=bool(short))

    filled, count = PLACEHOLDER.subn(fill, markdown)
    if not count:
        raise EvidenceError(
            f"{page} has no <!-- measured: claim_key --> placeholder left; it "
            "shows what the tutorials measured through them."
        )
    return filled
