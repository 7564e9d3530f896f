"""The training engine shared by all three models: strategies, optimization, the Trainer loop."""
