"""Worker process for test_deltalake: append N small batches to a Delta table."""
import json
import sys

import pyarrow as pa
from deltalake import write_deltalake

uri, writer, n, rows, opts = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), json.loads(sys.argv[5])
for seq in range(n):
    t = pa.table({
        "writer": pa.array([writer] * rows, pa.int32()),
        "seq": pa.array([seq] * rows, pa.int32()),
        "i": pa.array(range(rows), pa.int64()),
    })
    write_deltalake(uri, t, mode="append", storage_options=opts)
print("done", writer)
