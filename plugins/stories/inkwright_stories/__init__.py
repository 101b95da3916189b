"""Story generation for Inkwright (seed 000), packaged as a third-party plugin would be."""
