import keras
import tensorflow as tf

from tfclone.layers.tracking import track_for_checkpoints, untracked_variables


class ListModel(keras.Model):
    def __init__(self, fix: bool):
        super().__init__()
        self.blocks = [keras.layers.Dense(3, name="a"), keras.layers.Dense(2, name="b")]
        if fix:
            track_for_checkpoints(self, self.blocks)

    def call(self, x):
        for block in self.blocks:
            x = block(x)
        return x


def test_layers_in_lists_are_caught_and_fixed(tmp_path):
    broken, fixed = ListModel(False), ListModel(True)
    for m in (broken, fixed):
        m(tf.zeros([1, 4]))
    assert sorted(untracked_variables(broken)) == sorted(v.path for v in broken.weights)
    assert untracked_variables(fixed) == []
    path = tf.train.Checkpoint(model=fixed).save(str(tmp_path / "ckpt"))
    saved = tf.train.load_checkpoint(path).get_variable_to_shape_map()
    assert sum("kernel" in k for k in saved) == 2
    assert len(fixed.weights) == 4  # Keras itself does not count the layers twice
