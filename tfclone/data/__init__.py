"""Data: corpus readers, the local corpus maker, preprocessing to TFRecords, tf.data input functions.

Kept free of TensorFlow imports at package level: preprocessing workers import only what they use.
"""
