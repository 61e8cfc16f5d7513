"""A simulated village to run the box against without a modem or a real roster."""
