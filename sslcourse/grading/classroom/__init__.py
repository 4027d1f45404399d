"""The class tools: grade a submission or a folder of them into a gradebook, check the course's integrity,
hidden test banks, written answers, the otter-grader export, and exercises generated from solutions.

They join the two other concerns: the exercises' checks (``grading.checks``) and the isolated runner
(``grading.runner``).
"""
