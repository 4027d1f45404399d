# Wrong answers: constants of the right shapes.
import torch


def cosine_similarity_matrix(a, b):
    return torch.zeros(len(a), len(b))


def weighted_knn_predict(train_features, train_labels, test_features, k=20, temperature=0.07, num_classes=None):
    return torch.zeros(len(test_features), dtype=torch.int64)
