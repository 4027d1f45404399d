# Robustness: a correct notebook whose code writes bytes that are not UTF-8 to stdout and stderr.
import sys

import torch
import torch.nn.functional as F

NOISE = sys.stdout.buffer.write(b"\xff\xfe\xfa not utf-8\n") + sys.stderr.buffer.write(b"\xc3\x28\n")


def cosine_similarity_matrix(a, b, _noise=NOISE):
    sys.stdout.buffer.write(b"\xff" * 10)
    return F.normalize(a.float(), dim=1) @ F.normalize(b.float(), dim=1).T


def weighted_knn_predict(train_features, train_labels, test_features, k=20, temperature=0.07, num_classes=None):
    num_classes = num_classes or int(train_labels.max()) + 1
    k = min(k, len(train_features))
    sim, idx = cosine_similarity_matrix(test_features, train_features).topk(k, dim=1)
    votes = torch.zeros(len(test_features), num_classes)
    votes.scatter_add_(1, train_labels[idx], torch.exp(sim / temperature))
    return votes.argmax(1)
