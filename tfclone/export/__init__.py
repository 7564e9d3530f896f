"""SavedModel export in TF Serving layout: exported/<model>/<version>/ with config and warm-up assets."""
