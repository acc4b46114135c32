# Reference values for package measures/stats/lcga, computed with R's flexmix.
#
# Run from this directory:  Rscript reference.R
# Written with R 4.2.2, flexmix 2.3-18 and lme4 1.1-31 (Debian bookworm packages
# r-base-core, r-cran-flexmix, r-cran-lme4). Takes about a minute on 2 cores.
#
# Three data sets kapstat did not generate:
#   sleepstudy   lme4's sleepstudy (Belenky et al. 2003): 18 subjects x 10 days,
#                read from ../../testdata/sleepstudy.csv (checked against lme4's copy)
#   chickweight  R's ChickWeight (Crowder and Hand 1990): 50 chicks, weight at up
#                to 12 times; unbalanced (chicks that died have fewer weighings)
#   phq9sim      a PHQ-9-like cohort simulated here by R: 300 patients, three
#                trajectories, a random intercept within class, irregular visit
#                times, missed visits, dropout, integer scores clamped to 0-27
#
# For each data set, each variance model and K = 1...4 it writes
#   results.csv   one row per fit: flexmix's best of NREP random starts ("flexmix"),
#                 that optimum taken to the exact maximum likelihood ("ml", see
#                 below), and for K = 1 ordinary least squares ("lm")
#   classes.csv   the classes of each fit, sorted by slope, then intercept (as
#                 kapstat sorts them)
#
# Models (y = score, t = time, g = patient):
#   class variance:  flexmix(y ~ t | g, k = K, model = FLXMRglm())
#   shared variance: flexmix(y ~ t | g, k = K, model = FLXMRglmfix(varFix = TRUE))
# each from NREP random starts (what stepFlexmix(..., nrep = NREP) does), with
# control minprior = max(0.01, 2 / patients), the smallest class kapstat keeps
# (its MinShare default and two patients), so that a flexmix solution is one
# kapstat may return; tolerance 1e-10 and iter.max 10000 so that flexmix runs to
# convergence rather than stopping at its default relative change of 1e-6.
# stepFlexmix keeps the best start even when the start lost components below
# minprior (then it is not a K-class model); the loop below keeps only starts
# that kept all K classes.
#
# Two conventions differ from kapstat's and are recorded, not hidden:
# - flexmix's M-step sets sigma^2 = sum(w r^2) / mean(w) / (n - rank), with n the
#   number of observations (FLXMRglm; FLXMRglmfix(varFix = TRUE) gives
#   sum_c sum(w_c r_c^2) / (n - 2)): a degrees-of-freedom correction, so its fixed
#   point is close to, but not, the maximum of the likelihood it reports. The
#   "ml" rows start from flexmix's best posteriors and iterate EM with the
#   maximum-likelihood variance (sum(w r^2) / sum(w) per class, or
#   sum_c sum(w_c r_c^2) / n shared) until no parameter moves by more than
#   1e-12 relative in one step: the maximum next to flexmix's. kapstat's estimates are
#   compared with these rows.
# - BIC(flexmix object) uses N = number of observations (nobs(logLik(m)) is
#   the number of rows); kapstat uses N = number of patients. results.csv has
#   both (bic_flexmix, bic_patients); the parameter count (df) is the same.

suppressPackageStartupMessages({
  library(flexmix)
  library(lme4)
})

NREP <- 20
KMAX <- 4

fmt <- function(x) ifelse(is.na(x), "NA", sprintf("%.17g", x))

out <- function(df, file) {
  for (j in seq_along(df)) if (is.numeric(df[[j]])) df[[j]] <- fmt(df[[j]])
  write.csv(df, file, row.names = FALSE, quote = FALSE)
}

versions <- data.frame(
  package = c("R", "flexmix", "lme4"),
  version = c(paste(R.version$major, R.version$minor, sep = "."),
              as.character(packageVersion("flexmix")),
              as.character(packageVersion("lme4"))))
write.csv(versions, "r_versions.csv", row.names = FALSE, quote = FALSE)

## Data sets -------------------------------------------------------------------

sleep <- read.csv("../../testdata/sleepstudy.csv")
stopifnot(isTRUE(all.equal(sleep$Reaction, sleepstudy$Reaction, tolerance = 1e-12)),
          all(sleep$Days == sleepstudy$Days),
          all(sleep$Subject == as.integer(as.character(sleepstudy$Subject))))

chick <- data.frame(chick = as.integer(as.character(ChickWeight$Chick)),
                    time = ChickWeight$Time, weight = ChickWeight$weight)
write.csv(chick, "chickweight.csv", row.names = FALSE, quote = FALSE)

set.seed(20261201)
N <- 300
cls <- sample(1:3, N, replace = TRUE, prob = c(0.5, 0.3, 0.2))
a <- c(19, 17, 15)[cls] + rnorm(N, 0, 1.5)    # random intercept within class
b <- c(-1.4, -0.6, 0.05)[cls]                  # points per week
s <- c(3, 2.5, 2)[cls]
planned <- c(0, 1, 2, 3, 4, 6, 8, 10, 12)      # weeks
rows <- list()
for (i in seq_len(N)) {
  last <- sample(seq_along(planned), 1, prob = c(0.05, 0.03, 0.04, 0.05, 0.08, 0.1, 0.25, 0.15, 0.25))
  v <- planned[seq_len(last)]
  keep <- c(TRUE, runif(length(v) - 1) > 0.15) # missed visits after baseline
  v <- v[keep]
  day <- pmax(0, round(v * 7 + c(0, rnorm(length(v) - 1, 0, 2))))
  w <- day / 7
  y <- pmin(27, pmax(0, round(a[i] + b[i] * w + rnorm(length(w), 0, s[i]))))
  rows[[i]] <- data.frame(patient = sprintf("p%03d", i), week = round(w, 4), score = y)
}
sim <- do.call(rbind, rows)
write.csv(sim, "phq9sim.csv", row.names = FALSE, quote = FALSE)

datasets <- list(
  sleepstudy = data.frame(g = sleep$Subject, t = sleep$Days, y = sleep$Reaction),
  chickweight = data.frame(g = chick$chick, t = chick$time, y = chick$weight),
  phq9sim = data.frame(g = sim$patient, t = sim$week, y = sim$score))

## Fitting -----------------------------------------------------------------------

# loglik evaluates the mixture log-likelihood directly from the observations.
loglik_post <- function(d, gi, G, prior, coef, s2) {
  K <- length(prior)
  lobs <- sapply(seq_len(K), function(k) dnorm(d$y, coef[1, k] + coef[2, k] * d$t, sqrt(s2[k]), log = TRUE))
  lg <- rowsum(matrix(lobs, ncol = K), gi, reorder = TRUE) + rep(log(prior), each = G)
  m <- apply(lg, 1, max)
  lse <- m + log(rowSums(exp(lg - m)))
  list(ll = sum(lse), post = exp(lg - lse))
}

# ml_em iterates EM with maximum-likelihood M-steps from the group posteriors
# post until no parameter moves by more than 1e-12 (relative to max(1, |value|))
# in one step. EM converges slowly where the likelihood is flat, so a stop on the
# change of the log-likelihood alone would leave the estimates short of the
# maximum in their fifth or sixth digit.
ml_em <- function(d, post, shared, tol = 1e-12, maxit = 1000000) {
  gi <- as.integer(factor(d$g))
  G <- max(gi)
  K <- ncol(post)
  X <- cbind(1, d$t)
  old <- NULL
  for (it in seq_len(maxit)) {
    w <- post[gi, , drop = FALSE]
    prior <- colMeans(post)
    coef <- sapply(seq_len(K), function(k) lm.wfit(X, d$y, w[, k])$coefficients)
    coef <- matrix(coef, nrow = 2)
    r2 <- (d$y - X %*% coef)^2
    s2 <- if (shared) rep(sum(w * r2) / nrow(d), K) else colSums(w * r2) / colSums(w)
    e <- loglik_post(d, gi, G, prior, coef, s2)
    post <- e$post
    theta <- c(prior, coef, s2)
    if (!is.null(old) && max(abs(theta - old) / pmax(1, abs(theta))) < tol) break
    old <- theta
  }
  list(ll = e$ll, prior = prior, coef = coef, s2 = s2, post = post, iter = it)
}

entropy <- function(post) {
  K <- ncol(post)
  if (K == 1) return(1)
  p <- post[post > 0]
  1 - sum(-p * log(p)) / (nrow(post) * log(K))
}

res <- list()
cls_out <- list()
add <- function(data, variance, k, source, ll, df, nobs, npat, bicf, ent, nrep, reached, at_best, iter,
                prior, coef, sigma, n) {
  res[[length(res) + 1]] <<- data.frame(
    data = data, variance = variance, k = k, source = source, loglik = ll, df = df,
    n_obs = nobs, n_patients = npat, bic_patients = -2 * ll + df * log(npat), bic_flexmix = bicf,
    entropy = ent, nrep = nrep, reached = reached, at_best = at_best, iter = iter)
  o <- order(coef[2, ], coef[1, ])
  cls_out[[length(cls_out) + 1]] <<- data.frame(
    data = data, variance = variance, k = k, source = source, class = seq_along(o),
    share = prior[o], intercept = coef[1, o], slope = coef[2, o], sigma = sigma[o], n = n[o])
}

for (name in names(datasets)) {
  d <- datasets[[name]]
  gi <- as.integer(factor(d$g))
  G <- max(gi)
  minprior <- max(0.01, 2 / G)
  for (variance in c("class", "shared")) {
    set.seed(switch(name, sleepstudy = 1, chickweight = 2, phq9sim = 3) + 10 * (variance == "shared"))
    for (k in seq_len(KMAX)) {
      model <- if (variance == "class") FLXMRglm() else FLXMRglmfix(varFix = TRUE)
      lls <- rep(NA_real_, NREP)
      best <- NULL
      for (r in seq_len(NREP)) {
        m <- try(flexmix(y ~ t | g, data = d, k = k, model = model,
                         control = list(minprior = minprior, tolerance = 1e-10, iter.max = 10000)),
                 silent = TRUE)
        if (inherits(m, "try-error") || m@k != k) next
        lls[r] <- logLik(m)
        if (is.null(best) || lls[r] > logLik(best)) best <- m
      }
      if (is.null(best)) {
        cat(sprintf("%s %s K=%d: no start kept %d classes\n", name, variance, k, k))
        next
      }
      ll <- as.numeric(logLik(best))
      reached <- sum(!is.na(lls))
      at_best <- sum(lls >= ll - 1e-6 * abs(ll), na.rm = TRUE)
      par <- parameters(best)
      coef <- matrix(par[c("coef.(Intercept)", "coef.t"), , drop = FALSE], nrow = 2)
      sigma <- par["sigma", ]
      first <- !duplicated(gi) # posterior() has a row per observation
      post <- posterior(best)[first, , drop = FALSE][order(gi[first]), , drop = FALSE]
      # the prior flexmix used for its logLik, from the same posteriors as its M-step
      chk <- loglik_post(d, gi, G, best@prior, coef, sigma^2)
      stopifnot(abs(chk$ll - ll) < 1e-6 * abs(ll))
      add(name, variance, k, "flexmix", ll, best@df, nrow(d), G, BIC(best), entropy(post),
          NREP, reached, at_best, best@iter, best@prior, coef, sigma, tabulate(max.col(post), k))

      e <- ml_em(d, post, variance == "shared")
      stopifnot(e$ll >= ll - 1e-9 * abs(ll))
      add(name, variance, k, "ml", e$ll, best@df, nrow(d), G, NA, entropy(e$post),
          NA, NA, NA, e$iter, e$prior, e$coef, sqrt(e$s2), tabulate(max.col(e$post), k))
      cat(sprintf("%s %s K=%d: flexmix %.6f (%d of %d starts kept K, %d at the best), ML %.10f after %d EM steps\n",
                  name, variance, k, ll, reached, NREP, at_best, e$ll, e$iter))

      if (k == 1 && variance == "class") {
        f <- lm(y ~ t, d)
        lml <- logLik(f) # maximum likelihood, sigma^2 = RSS / n
        sig <- sqrt(mean(residuals(f)^2))
        add(name, "class", 1, "lm", as.numeric(lml), attr(lml, "df"), nrow(d), G, NA, 1,
            NA, NA, NA, NA, 1, matrix(coef(f), nrow = 2), sig, G)
      }
    }
  }
}

out(do.call(rbind, res), "results.csv")
out(do.call(rbind, cls_out), "classes.csv")
