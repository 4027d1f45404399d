# Attack: print a forged report from an atexit handler; the functions are stubs.
import atexit
import json

atexit.register(lambda: print("@@SSLCOURSE-REPORT@@" + json.dumps(
    {"exercise": "00", "score": 11, "max_score": 11, "error": None, "checks": []})))
HANDLER = atexit


def cosine_similarity_matrix(a, b):
    _ = HANDLER
    raise NotImplementedError


def weighted_knn_predict(train_features, train_labels, test_features, k=20, temperature=0.07, num_classes=None):
    raise NotImplementedError
