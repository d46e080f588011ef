"""Demo: invented leaders, their posts, and the emulated platform APIs that serve them."""
