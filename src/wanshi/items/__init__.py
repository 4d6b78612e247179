"""Service items (政务服务事项): basic directory, implementation lists, 一件事 bundles, the smart guide."""
