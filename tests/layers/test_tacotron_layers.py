"""The zoneout LSTM cell's fast-backward path (training) against Keras's LSTMCell: same values, same
gradients, and its input gradients really come from the pre-transposed kernels."""
import numpy as np
import tensorflow as tf

from tfclone.layers.tacotron import ZoneoutLSTMCell, matmul_with_transposed_grad


def test_transposed_path_equals_keras_lstm_cell_values_and_gradients():
    cell = ZoneoutLSTMCell(16, zoneout=0.0)
    rng = np.random.default_rng(0)
    x, h, c = (tf.constant(rng.normal(size=shape), tf.float32) for shape in ((4, 12), (4, 16), (4, 16)))
    assert cell.transposed_kernels() is None  # not built yet: the caller takes Keras's path
    cell(x, [h, c])

    def run(transposed):
        with tf.GradientTape() as tape:
            tape.watch([x, h, c])
            out, (_, c2) = cell(x, [h, c], training=True, transposed=transposed)
            loss = tf.reduce_sum(out * out) + tf.reduce_sum(tf.sin(c2))
        return [out, c2] + tape.gradient(loss, [x, h, c] + cell.trainable_variables)

    keras_path, fast_path = run(None), run(cell.transposed_kernels())
    assert len(keras_path) == 2 + 3 + 3  # outputs; grads of x, h, c; kernel, recurrent kernel, bias
    for a, b in zip(keras_path, fast_path):
        np.testing.assert_allclose(b.numpy(), a.numpy(), atol=1e-5)


def test_the_input_gradient_uses_the_given_transpose():
    x, w = tf.ones([2, 3]), tf.reshape(tf.range(12.0), [3, 4])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([x, w])
        y = matmul_with_transposed_grad(x, w, 2.0 * tf.transpose(w))  # a deliberately wrong "transpose"
    np.testing.assert_allclose(y.numpy(), (x @ w).numpy())
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), 2.0 * tf.reduce_sum(w, 1)[None].numpy().repeat(2, 0))
    np.testing.assert_allclose(tape.gradient(y, w).numpy(), np.full([3, 4], 2.0))
