# Attack: print a forged report while the definitions load (a default argument runs at definition time),
# then leave before any check runs.
import json
import os


def cosine_similarity_matrix(a, b, _=print("@@SSLCOURSE-REPORT@@" + json.dumps(
        {"exercise": "00", "score": 999, "max_score": 10, "error": None, "checks": []})) or os._exit(0)):
    return a


def weighted_knn_predict(train_features, train_labels, test_features, k=20, temperature=0.07, num_classes=None):
    return train_labels[:len(test_features)]
