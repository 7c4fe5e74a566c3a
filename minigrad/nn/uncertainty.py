"""How uncertain a classifier is, from the class probabilities of k thinned networks.

``nn.mc_class_probabilities(model, x, k)`` stacks p[k, n, c], the probability of class c
for input n under the k-th thinned network. Gal & Ghahramani (2016, "Dropout as a
Bayesian approximation") read the k networks as samples w_k from an approximate
posterior over the weights, so that averages over k estimate expectations over it:

* predictive mean        p̄[n, c] = (1/k) Σ_k p[k, n, c]    (estimates p(y = c | x, data))
* predictive entropy     H[p̄] = -Σ_c p̄_c log p̄_c          (all the uncertainty)
* expected entropy       E_k H[p_k] = -(1/k) Σ_k Σ_c p_kc log p_kc
                         (the noise every network sees: a point on the class boundary)
* mutual information     I = H[p̄] - E_k H[p_k]             (the networks' disagreement)
* variation ratio        v = 1 - f / k, f the number of passes whose most probable
                         class is the most frequent one

The mutual information between the label and the weights, I[y; w | x, data], is the
BALD score (Houlsby, Huszár, Ghahramani & Lengyel 2011, "Bayesian active learning for
classification and preference learning"): high where the networks are each confident
but disagree, which is where a label would teach the model most. Entropy is concave, so
I >= 0 (Jensen) and I <= H[p̄]. The variation ratio is Freeman's (1965, "Elementary
applied statistics") measure of dispersion for a nominal variable; ties between classes
of a pass go to the first, as ``argmax`` does. Scoring a batch of inputs jointly
(BatchBALD, Kirsch, van Amersfoort & Gal 2019) needs one network per pass for all of
them: ``mc_class_probabilities(..., consistent_masks=True)``.

Entropies are in nats with 0 log 0 = 0; everything is computed in float64. Shapes:
``probs`` is (k, N, C); the mean is (N, C), every other measure (N,). Each function
checks ``probs`` as it enters: a (k, N, C) array of real numbers with k >= 1 and
C >= 1, finite and >= 0, each p[k, n] summing to 1 within ``SUM_TOLERANCE`` (loose
enough for a float32 softmax of thousands of classes, tight enough to refuse logits).
They are then divided by their sums, so every value lies in [0, 1] and no entropy is
negative by rounding.

Example::

    >>> import numpy as np
    >>> agree = np.array([[[1.0, 0.0]], [[1.0, 0.0]]])      # k=2 passes, N=1, C=2
    >>> disagree = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])
    >>> mutual_information(agree), mutual_information(disagree)  # 0 and log 2
    (array([0.]), array([0.69314718]))
    >>> variation_ratio(disagree)
    array([0.5])
"""
import numpy as np

SUM_TOLERANCE = 1e-4


def predictive_mean(probs):
    """p̄ = (1/k) Σ_k p_k: the (N, C) Monte Carlo estimate of the predictive distribution."""
    return _mean_over_passes(_checked("predictive_mean", probs))


def predictive_entropy(probs):
    """H[p̄] = -Σ_c p̄_c log p̄_c per input, (N,): the total uncertainty (log C at most)."""
    return _entropy(_mean_over_passes(_checked("predictive_entropy", probs)))


def expected_entropy(probs):
    """E_k H[p_k] = (1/k) Σ_k H[p_k] per input, (N,): the entropy the networks see each."""
    return _mean_over_passes(_entropy(_checked("expected_entropy", probs)))


def mutual_information(probs):
    """BALD: I = H[p̄] - E_k H[p_k] per input, (N,), in [0, H[p̄]].

    Exactly 0 when all passes agree (a model without active dropout); log 2 for two
    passes that put all mass on different classes. Rounding can make the difference a
    tiny negative number where I is 0; it is clipped to 0.
    """
    p = _checked("mutual_information", probs)
    return np.maximum(_entropy(_mean_over_passes(p)) - _mean_over_passes(_entropy(p)), 0.0)


def variation_ratio(probs):
    """v = 1 - f / k per input, (N,): f passes predict the modal class; 0 when all agree.

    A pass predicts its most probable class (the first of tied ones); v is at most
    1 - 1/min(k, C).
    """
    p = _checked("variation_ratio", probs)
    k, _, classes = p.shape
    votes = (p.argmax(axis=-1)[..., None] == np.arange(classes)).sum(axis=0)
    return 1.0 - votes.max(axis=-1) / k


def _mean_over_passes(a):
    """The mean over axis 0 as a[0] + mean(a - a[0]): equal passes give a[0] exactly.

    (The plain mean of k equal floats can be off by an ulp, which would make the
    mutual information of a model without dropout a tiny positive number.)
    """
    return a[0] + (a - a[0]).mean(axis=0)


def _entropy(p):
    """-Σ_c p_c log p_c along the last axis, with 0 log 0 = 0."""
    return -(p * np.log(np.where(p > 0, p, 1.0))).sum(axis=-1)


def _checked(name, probs):
    """``probs`` as a float64 (k, N, C) array of distributions, or the error saying why not."""
    p = np.asarray(probs)
    if p.dtype.kind not in "iuf":
        raise TypeError(f"{name}: probs must be an array of real numbers, got dtype {p.dtype}")
    if p.ndim != 3:
        raise ValueError(f"{name}: probs must be a (k, N, C) array (passes, inputs, "
                         f"classes), got shape {p.shape}")
    if p.shape[0] < 1 or p.shape[2] < 1:
        raise ValueError(f"{name}: probs must hold k >= 1 passes of C >= 1 classes, "
                         f"got shape {p.shape}")
    p = p.astype(np.float64)
    if not np.all(np.isfinite(p) & (p >= 0)):
        bad = tuple(int(i) for i in np.argwhere(~(np.isfinite(p) & (p >= 0)))[0])
        raise ValueError(f"{name}: probs must be finite and >= 0, got {p[bad]} at {bad}")
    sums = p.sum(axis=-1, keepdims=True)
    error = np.abs(sums - 1.0)
    if error.size and error.max() > SUM_TOLERANCE:
        k, n, _ = np.unravel_index(np.argmax(error), error.shape)
        raise ValueError(f"{name}: probs must sum to 1 over the classes (last axis) within "
                         f"{SUM_TOLERANCE:g}, got {sums[k, n, 0]:.6g} at pass {k}, input {n}")
    return p / sums
