"""GE2E against a NumPy reference written straight from the paper's equations (arXiv 1710.10467)."""
import numpy as np
import pytest
import tensorflow as tf

from tfclone.losses.ge2e import GE2ELoss, ge2e_loss, similarity_matrix


def numpy_ge2e(emb, n, m, w, b, kind):
    e = emb.reshape(n, m, -1).astype(np.float64)
    e /= np.linalg.norm(e, axis=-1, keepdims=True)
    loss = np.zeros((n, m))
    sim = np.zeros((n, m, n))
    for j in range(n):
        for i in range(m):
            for k in range(n):
                if k == j:  # eq. 8: exclusive centroid
                    c = (e[k].sum(0) - e[j, i]) / (m - 1)
                else:  # eq. 1
                    c = e[k].mean(0)
                sim[j, i, k] = w * np.dot(e[j, i], c) / np.linalg.norm(c) + b  # eq. 5 / 9
            if kind == "softmax":  # eq. 6
                loss[j, i] = -sim[j, i, j] + np.log(np.sum(np.exp(sim[j, i])))
            else:  # eq. 7
                sig = 1 / (1 + np.exp(-sim[j, i]))
                loss[j, i] = 1 - sig[j] + max(sig[k] for k in range(n) if k != j)
    return sim, loss


@pytest.mark.parametrize("kind", ["softmax", "contrast"])
@pytest.mark.parametrize("n,m,d", [(4, 5, 16), (3, 2, 8), (8, 10, 256)])
def test_matches_numpy(kind, n, m, d):
    rng = np.random.default_rng(n * 100 + m)
    emb = rng.standard_normal((n * m, d)).astype(np.float32)
    w, b = 7.5, -3.0
    sim_ref, loss_ref = numpy_ge2e(emb, n, m, w, b, kind)
    sim = similarity_matrix(tf.constant(emb), n, tf.constant(w), tf.constant(b)).numpy()
    np.testing.assert_allclose(sim, sim_ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ge2e_loss(tf.constant(sim), kind).numpy(), loss_ref, rtol=1e-4, atol=1e-5)


def test_layer_keeps_w_positive_and_learns():
    layer = GE2ELoss(num_speakers=3, init_w=10.0, init_b=-5.0)
    emb = tf.constant(np.random.default_rng(0).standard_normal((6, 8)), tf.float32)
    assert layer(emb).shape == (3, 2)
    layer.w.assign(-4.0)
    assert float(layer.scale()) > 0
    loss = tf.reduce_mean(GE2ELoss(num_speakers=3)(emb))
    # Well-separated speakers give a lower loss than a random batch.
    centres = np.random.default_rng(1).standard_normal((3, 8))
    clustered = np.repeat(centres, 2, axis=0) + 0.01 * np.random.default_rng(2).standard_normal((6, 8))
    assert float(tf.reduce_mean(GE2ELoss(3)(tf.constant(clustered, tf.float32)))) < float(loss) / 3
    with pytest.raises(ValueError, match="unknown GE2E loss"):
        ge2e_loss(tf.zeros([2, 2, 2]), "triplet")
