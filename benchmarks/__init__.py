"""melange-lab's benchmarks: ``python -m benchmarks`` prints every case side by side.

``cases`` holds the measurements, ``__main__`` the command line and the table;
``moto_depth`` compares moto with and without the depth fix on plain boto3.
"""
