"""Model answers to the written questions, for graders (formgrader shows them beside
the student's answer); a course source refers to each with ``@answer``."""

XOR = """\
The hidden layer maps the four points to new coordinates, one per hidden unit
(ReLU(w·x + b) for each). In those coordinates the two classes are linearly separable —
e.g. one unit fires on x₁ + x₂ ≥ 1 and another only on x₁ + x₂ ≥ 2, and "the first minus
twice the second" is XOR — so the output layer, itself a linear model, can draw a single
straight boundary there. Seen in the input plane, that boundary is bent along the ReLUs'
kinks."""

VALIDATION = """\
Whatever is chosen by looking at a set is fitted to that set: picking the epoch count or
the learning rate with the best test accuracy tunes the model to the test images, so the
reported test accuracy would overestimate the accuracy on new data. Choosing on a held-out
validation set keeps the test set untouched until the end, so its accuracy stays an
unbiased estimate for images that never influenced the model."""

OVERFITTING = """\
Accuracy only asks whether the largest logit is the right one; the loss also asks how
confident the prediction is. After its best epoch the network keeps pushing the training
images towards certainty, so its predictions on validation images become more confident
too: the right ones barely change the loss, but the few wrong ones become confidently
wrong, and −log of a tiny probability is large — the mean loss rises while the count of
right answers stays about the same. Early stopping should watch the validation loss: it
moves smoothly and reacts to growing overconfidence before the accuracy (a coarse count
that is flat and noisy here) shows anything; when accuracy is the goal, watching the
validation accuracy is a fair choice too, with enough patience."""
