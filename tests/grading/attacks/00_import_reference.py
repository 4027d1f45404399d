# Attack: bind the graded names to the grader's own reference implementations.
from sslcourse.grading.checks.knn import reference_cosine as cosine_similarity_matrix
from sslcourse.grading.checks.knn import reference_knn as weighted_knn_predict
