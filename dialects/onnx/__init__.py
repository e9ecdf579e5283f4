"""The ONNX frontend: ``importer`` builds the ``onnx`` import dialect from a ModelProto."""
